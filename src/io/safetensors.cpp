// safetensors: the JSON header through nlohmann-json, and this file's own rules
// on top of it, the reference implementation's: one object whose members are
// "__metadata__" (strings only) and tensors {dtype, shape, data_offsets}, names
// unique, offsets tiling the data section exactly.
#include "typenet/io/safetensors.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "typenet/io/atomic_write.hpp"

namespace typenet {

namespace detail {

std::string shape_text(std::span<const std::size_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

}  // namespace detail

namespace {

// The reference implementation's limit: no real header comes close.
constexpr std::uint64_t max_header_size = 100'000'000;

// Elements × element size, or false on overflow.
bool byte_count(std::span<const std::size_t> shape, std::size_t element_size, std::uint64_t& bytes) {
  bytes = element_size;
  for (const std::size_t extent : shape)
    if (__builtin_mul_overflow(bytes, extent, &bytes)) return false;
  return true;
}

// nlohmann's message without its "[json.exception.parse_error.101] " and
// "parse error at line 1, column 5: " (the caller gives the byte instead).
// Its "last read: '...'" quotes the file, so bytes beyond ASCII are written as
// \xNN: the message stays one line of text whatever the file holds.
std::string problem_of(const nlohmann::json::exception& error) {
  std::string_view text = error.what();
  if (const std::size_t end = text.find("] "); text.starts_with("[json.exception.") && end != text.npos)
    text.remove_prefix(end + 2);
  if (const std::size_t colon = text.find(": "); text.starts_with("parse error") && colon != text.npos)
    text.remove_prefix(colon + 2);
  std::string problem;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) problem += c;
    else problem += "\\x" + std::string{"0123456789abcdef"[byte >> 4], "0123456789abcdef"[byte & 0xf]};
  }
  return problem;
}

// The JSON header, padded with spaces so that the data starts 8-byte aligned.
// ordered_json keeps members in the order written, the reference writer's:
// metadata first, then the tensors in the order of their data, each as dtype,
// shape, data_offsets.
// dump() escapes strings as serde_json does, so the bytes match its files.
std::string header_json(const std::filesystem::path& path, std::span<const tensor_view> tensors,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const tensor_view& tensor : tensors) {
    const std::uint64_t bytes = std::visit([](auto data) { return data.size_bytes(); }, tensor.data);
    nlohmann::ordered_json& entry = header[tensor.name];
    entry["dtype"] = dtype_name(tensor.type());
    entry["shape"] = tensor.shape;
    entry["data_offsets"] = {offset, offset + bytes};
    offset += bytes;
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::type_error& error) {  // a name or value that is not UTF-8
    throw checkpoint_error(path, "cannot save: a tensor name or metadata string is not UTF-8 (" +
                                     problem_of(error) + ")");
  }
  json.resize((json.size() + 7) / 8 * 8, ' ');
  return json;
}

struct header_entry {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

struct parsed_header {
  std::map<std::string, std::string> metadata;
  std::vector<header_entry> entries;
};

// A value as a message quotes it: its JSON in ASCII (\u escapes), cut short.
std::string brief(const nlohmann::json& value) {
  constexpr std::size_t most = 40;
  const std::string text = value.dump(-1, ' ', true);
  return text.size() <= most ? text : text.substr(0, most) + "...";
}

bool is_unsigned_array(const nlohmann::json& value) {
  return value.is_array() && std::ranges::all_of(value, &nlohmann::json::is_number_unsigned);
}

// nlohmann keeps the last of repeated keys, silently; a safetensors reader
// refuses them, so this parser callback sees each key first. Keys of objects
// nested deeper than a tensor's fields are checked too, though such objects
// are refused anyway.
class duplicate_keys_refused {
public:
  explicit duplicate_keys_refused(const std::filesystem::path& path) : path_(&path) {}

  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using event_t = nlohmann::json::parse_event_t;
    if (event == event_t::object_start) open_.emplace_back();
    if (event == event_t::object_end) open_.pop_back();
    if (event != event_t::key) return true;
    const auto& key = parsed.get_ref<const std::string&>();
    if (depth == 1) member_ = key;
    if (!open_.back().insert(key).second)
      throw checkpoint_error(*path_, depth == 1                   ? "the header names '" + key + "' twice"
                                     : member_ == "__metadata__" ? "the metadata names '" + key + "' twice"
                                                                  : "tensor '" + member_ + "' names '" + key + "' twice");
    return true;
  }

private:
  const std::filesystem::path* path_;
  std::vector<std::set<std::string>> open_;  // the keys of each object being read
  std::string member_;                     // the header's member being read
};

header_entry read_entry(const std::filesystem::path& path, const std::string& name, const nlohmann::json& value) {
  const auto fail = [&](const std::string& problem) { throw checkpoint_error(path, "tensor '" + name + "' " + problem); };
  if (!value.is_object()) fail("is not an object of dtype, shape and data_offsets");
  for (const auto& [field, _] : value.items())
    if (field != "dtype" && field != "shape" && field != "data_offsets") fail("has an unknown field '" + field + "'");
  for (const char* required : {"dtype", "shape", "data_offsets"})
    if (!value.contains(required)) fail(std::string("has no ") + required);

  header_entry entry{.name = name};
  const nlohmann::json& type = value.at("dtype");
  const std::string type_name = type.is_string() ? type.get<std::string>() : brief(type);
  if (type_name == "F32") entry.type = dtype::f32;
  else if (type_name == "F64") entry.type = dtype::f64;
  else if (type_name == "I64") entry.type = dtype::i64;
  else fail("has dtype " + type_name + "; only F32, F64 and I64 are supported");

  const nlohmann::json& shape = value.at("shape");
  if (!is_unsigned_array(shape)) fail("has shape " + brief(shape) + ", not a list of non-negative integers");
  entry.shape = shape.get<std::vector<std::uint64_t>>();

  const nlohmann::json& offsets = value.at("data_offsets");
  if (!is_unsigned_array(offsets) || offsets.size() != 2)
    fail("has data_offsets " + brief(offsets) + " that are not [begin, end] of non-negative integers");
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  return entry;
}

parsed_header parse_header(const std::filesystem::path& path, std::string_view text) {
  const auto fail = [&](const std::string& problem) { throw checkpoint_error(path, problem); };
  nlohmann::json json;
  try {
    // Strict: one JSON value, then only whitespace (the padding); no comments.
    json = nlohmann::json::parse(text, duplicate_keys_refused(path), true, false);
  } catch (const nlohmann::json::parse_error& error) {
    fail("malformed JSON header at byte " + std::to_string(error.byte) + ": " + problem_of(error));
  } catch (const nlohmann::json::exception& error) {  // e.g. a number beyond a double's range
    fail("malformed JSON header: " + problem_of(error));
  }
  if (!json.is_object()) fail("the header is " + std::string(json.type_name()) + ", not a JSON object");

  parsed_header header;
  for (const auto& [key, value] : json.items()) {
    if (key != "__metadata__") {
      header.entries.push_back(read_entry(path, key, value));
      continue;
    }
    if (!value.is_object()) fail("its __metadata__ is " + std::string(value.type_name()) + ", not an object");
    for (const auto& [name, text_value] : value.items()) {
      if (!text_value.is_string()) fail("the metadata's '" + name + "' is " + brief(text_value) + ", not a string");
      header.metadata.emplace(name, text_value.get<std::string>());
    }
  }
  return header;
}

// The tensors must tile the data section exactly: in offset order, each
// starts where the previous one ends, and the last ends at the file's end.
// Alignment is the writer's duty, not checked here: the reference reader does
// not require it of a file, and these tensors are copied, never mapped.
void check_layout(const std::filesystem::path& path, std::vector<header_entry>& entries, std::uint64_t data_size) {
  const auto fail = [&](const std::string& problem) { throw checkpoint_error(path, problem); };
  std::ranges::sort(entries, {}, [](const header_entry& e) { return std::pair(e.begin, e.end); });
  std::uint64_t covered = 0;
  const header_entry* previous = nullptr;
  for (const header_entry& e : entries) {
    const std::string offsets = "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) + "]";
    if (e.end < e.begin) fail("tensor '" + e.name + "' has " + offsets + " that end before they begin");
    if (e.begin < covered)
      fail("tensor '" + e.name + "' has " + offsets + " overlapping tensor '" + previous->name + "'");
    if (e.begin > covered)
      fail("data bytes [" + std::to_string(covered) + "," + std::to_string(e.begin) + ") belong to no tensor");
    if (e.end > data_size)
      fail("tensor '" + e.name + "' has " + offsets + " but the file holds only " + std::to_string(data_size) +
           " data bytes (truncated?)");
    std::uint64_t expected = 0;
    const std::vector<std::size_t> shape(e.shape.begin(), e.shape.end());
    if (!byte_count(shape, dtype_size(e.type), expected))
      fail("tensor '" + e.name + "' of shape " + detail::shape_text(shape) + " has more bytes than a 64-bit size holds");
    if (expected != e.end - e.begin)
      fail("tensor '" + e.name + "' of shape " + detail::shape_text(shape) + " and dtype " +
           std::string(dtype_name(e.type)) + " needs " + std::to_string(expected) + " bytes but its " + offsets +
           " span " + std::to_string(e.end - e.begin));
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size)
    fail("the file has " + std::to_string(data_size - covered) + " data bytes after the last tensor");
}

}  // namespace

const stored_tensor& safetensors_file::at(std::string_view name) const {
  const auto found = std::ranges::find(tensors, name, &stored_tensor::name);
  if (found == tensors.end()) throw checkpoint_error(path, "no tensor named '" + std::string(name) + "'");
  return *found;
}

const stored_tensor& safetensors_file::checked(std::string_view name, dtype type,
                                               const std::vector<std::size_t>& shape) const {
  const stored_tensor& tensor = at(name);
  if (tensor.type() != type)
    throw checkpoint_error(path, "tensor '" + tensor.name + "' is " + std::string(dtype_name(tensor.type())) +
                                     ", expected " + std::string(dtype_name(type)));
  if (tensor.shape != shape)
    throw checkpoint_error(path, "tensor '" + tensor.name + "' has shape " + detail::shape_text(tensor.shape) +
                                     ", expected " + detail::shape_text(shape));
  return tensor;
}

void save_safetensors(const std::filesystem::path& path, std::span<const tensor_view> tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> names;
  for (const tensor_view& tensor : tensors) {
    const auto fail = [&](const std::string& problem) {
      throw checkpoint_error(path, "cannot save tensor '" + tensor.name + "': " + problem);
    };
    if (tensor.name == "__metadata__") fail("the name is reserved for the metadata");
    if (!names.insert(tensor.name).second) fail("the name is given twice");
    std::uint64_t bytes = 0;
    const bool fits = byte_count(tensor.shape, dtype_size(tensor.type()), bytes);
    const std::size_t size = std::visit([](auto data) { return data.size(); }, tensor.data);
    if (!fits || bytes != size * dtype_size(tensor.type()))
      fail("shape " + detail::shape_text(tensor.shape) + " does not match its " + std::to_string(size) + " values");
  }

  // The data start 8-byte aligned and every 8-byte tensor's size is a multiple
  // of 8, so putting them first aligns every tensor to its element size (the
  // reference writer sorts by dtype for the same reason). Widest first, each
  // width in the order given (a stable sort by hand: libstdc++'s stable_sort
  // warns under clang of its deprecated temporary buffer).
  std::vector<tensor_view> laid_out;
  for (std::size_t width = 8; width > 0; width /= 2)
    for (const tensor_view& t : tensors)
      if (dtype_size(t.type()) == width) laid_out.push_back(t);
  const std::string header = header_json(path, laid_out, metadata);
  std::array<std::byte, 8> length{};
  for (std::size_t i = 0; i < 8; ++i) length[i] = static_cast<std::byte>(header.size() >> (8 * i));

  std::vector<std::span<const std::byte>> parts{length, std::as_bytes(std::span(header))};
  for (const tensor_view& tensor : laid_out)
    parts.push_back(std::visit([](auto data) { return std::as_bytes(data); }, tensor.data));
  write_file_atomically<checkpoint_error>(path, parts);
}

safetensors_file load_safetensors(const std::filesystem::path& path) {
  const auto fail = [&](const std::string& problem) { throw checkpoint_error(path, problem); };
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) fail("no such file");
  if (!std::filesystem::is_regular_file(status)) fail("not a regular file");
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) fail("cannot read its size: " + error.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open for reading");
  const auto read = [&](void* into, std::uint64_t bytes) {
    if (!in.read(static_cast<char*>(into), static_cast<std::streamsize>(bytes))) fail("read error");
  };

  if (file_size < 8) fail("only " + std::to_string(file_size) + " bytes, too short for a safetensors file");
  std::array<unsigned char, 8> length_bytes;
  read(length_bytes.data(), 8);
  std::uint64_t header_size = 0;
  for (std::size_t i = 0; i < 8; ++i) header_size |= std::uint64_t{length_bytes[i]} << (8 * i);
  if (header_size > max_header_size)
    fail("header length " + std::to_string(header_size) + " exceeds the limit of 100 MB");
  if (header_size > file_size - 8)
    fail("header length " + std::to_string(header_size) + " runs past the end of the file (" +
         std::to_string(file_size) + " bytes)");

  std::string header_text(header_size, '\0');
  read(header_text.data(), header_size);
  auto [metadata, entries] = parse_header(path, header_text);
  check_layout(path, entries, file_size - 8 - header_size);

  safetensors_file file{.path = path, .metadata = std::move(metadata), .tensors = {}};
  for (const header_entry& e : entries) {
    stored_tensor& tensor = file.tensors.emplace_back();
    tensor.name = e.name;
    tensor.shape.assign(e.shape.begin(), e.shape.end());
    const auto load = [&](auto scalar) {
      std::vector<decltype(scalar)> values((e.end - e.begin) / sizeof(scalar));
      read(values.data(), e.end - e.begin);
      tensor.data = std::move(values);
    };
    if (e.type == dtype::f32) load(float{});
    else if (e.type == dtype::f64) load(double{});
    else load(std::int64_t{});
  }
  return file;
}

}  // namespace typenet

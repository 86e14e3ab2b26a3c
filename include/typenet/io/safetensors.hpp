#pragma once
// Checkpoints in Hugging Face's safetensors format, byte for byte as its
// reference writer lays them out: an 8-byte little-endian header length N,
// N bytes of JSON
//   {"__metadata__":{"epoch":"3"},"conv1.weight":{"dtype":"F32","shape":[16,1,3,3],"data_offsets":[0,576]}}
// padded with spaces to a multiple of 8, then the tensors' little-endian bytes,
// back to back in the order given. F32 (training) and F64 (gradient checks);
// when mixing them, give F64 tensors first so their data stays 8-byte aligned
// for readers that map the file.
//
//   std::vector<float> w(16 * 9), b(16);
//   typenet::save_safetensors("ckpt/last.safetensors",
//       std::vector<typenet::tensor_view>{{"conv1.weight", {16, 1, 3, 3}, w}, {"conv1.bias", {16}, b}},
//       {{"epoch", "3"}});
//   auto file = typenet::load_safetensors("ckpt/last.safetensors");
//   std::span<const float> weights = file.values<float>("conv1.weight", {16, 1, 3, 3});
//
// Saving is atomic (see atomic_write.hpp). Loading checks every number in the
// file before using it; any problem is a checkpoint_error naming the file.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "typenet/io/atomic_write.hpp"
#include "typenet/io/detail/json_reader.hpp"
#include "typenet/io/file_error.hpp"

namespace typenet {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this code copies it without byte swapping");

class checkpoint_error : public file_error {
public:
  using file_error::file_error;
};

enum class dtype { f32, f64 };

namespace detail {

// As the header writes it: [16,1,3,3].
inline std::string shape_text(std::span<const std::size_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

}  // namespace detail

constexpr std::string_view dtype_name(dtype type) { return type == dtype::f32 ? "F32" : "F64"; }
constexpr std::size_t dtype_size(dtype type) { return type == dtype::f32 ? 4 : 8; }

// A tensor to save; `data` is borrowed and must outlive the call.
struct tensor_view {
  std::string name;
  std::vector<std::size_t> shape;
  std::variant<std::span<const float>, std::span<const double>> data;

  dtype type() const { return data.index() == 0 ? dtype::f32 : dtype::f64; }
};

// A tensor as loaded, owning its values.
struct stored_tensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::variant<std::vector<float>, std::vector<double>> data;

  dtype type() const { return data.index() == 0 ? dtype::f32 : dtype::f64; }
};

struct safetensors_file {
  std::filesystem::path path;
  std::map<std::string, std::string> metadata;
  std::vector<stored_tensor> tensors;  // in the order of their bytes in the file

  const stored_tensor& at(std::string_view name) const {
    const auto found = std::ranges::find(tensors, name, &stored_tensor::name);
    if (found == tensors.end()) throw checkpoint_error(path, "no tensor named '" + std::string(name) + "'");
    return *found;
  }

  // The values of `name`, checked to be of type Scalar and of `expected_shape`.
  template <class Scalar>
  std::span<const Scalar> values(std::string_view name, const std::vector<std::size_t>& expected_shape) const {
    const stored_tensor& tensor = at(name);
    const auto* stored = std::get_if<std::vector<Scalar>>(&tensor.data);
    if (stored == nullptr)
      throw checkpoint_error(path, "tensor '" + tensor.name + "' is " + std::string(dtype_name(tensor.type())) +
                                       ", expected " + (std::is_same_v<Scalar, float> ? "F32" : "F64"));
    if (tensor.shape != expected_shape)
      throw checkpoint_error(path, "tensor '" + tensor.name + "' has shape " + detail::shape_text(tensor.shape) +
                                       ", expected " + detail::shape_text(expected_shape));
    return *stored;
  }
};

namespace detail {

// The reference implementation's limit: no real header comes close.
inline constexpr std::uint64_t max_safetensors_header = 100'000'000;

// Escaped as serde_json does, so our headers match the reference writer's.
inline std::string json_quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') (out += '\\') += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (byte < 0x20) {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else out += c;
  }
  return out + '"';
}

// Elements × element size, or false on overflow.
inline bool byte_count(std::span<const std::size_t> shape, std::size_t element_size, std::uint64_t& bytes) {
  bytes = element_size;
  for (const std::size_t extent : shape)
    if (__builtin_mul_overflow(bytes, extent, &bytes)) return false;
  return true;
}

// The JSON header, padded with spaces so that the data starts 8-byte aligned.
inline std::string safetensors_header(std::span<const tensor_view> tensors,
                                      const std::map<std::string, std::string>& metadata) {
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (bool first = true; const auto& [key, value] : metadata) {
      if (!first) json += ',';
      json += json_quoted(key) + ":" + json_quoted(value);
      first = false;
    }
    json += "}";
  }
  std::uint64_t offset = 0;
  for (const tensor_view& tensor : tensors) {
    const std::uint64_t bytes = std::visit([](auto data) { return data.size_bytes(); }, tensor.data);
    if (json.size() > 1) json += ",";
    json += json_quoted(tensor.name) + ":{\"dtype\":\"" + std::string(dtype_name(tensor.type())) +
            "\",\"shape\":" + detail::shape_text(tensor.shape) + ",\"data_offsets\":[" +
            std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  json += "}";
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

inline parsed_header parse_safetensors_header(const std::filesystem::path& path, std::string_view text) {
  const auto fail = [&](const std::string& problem) { throw checkpoint_error(path, problem); };
  parsed_header header;
  std::set<std::string, std::less<>> names;
  json_reader in(text);
  try {
    in.read_object([&](std::string key) {
      if (!names.insert(key).second) fail("the header names '" + key + "' twice");
      if (key == "__metadata__") {
        in.read_object([&](std::string name) {
          std::string value = in.read_string();
          if (!header.metadata.emplace(name, std::move(value)).second)
            fail("the metadata names '" + name + "' twice");
        });
        return;
      }
      header_entry entry;
      entry.name = key;
      std::set<std::string, std::less<>> fields;
      in.read_object([&](std::string field) {
        if (!fields.insert(field).second) fail("tensor '" + key + "' names '" + field + "' twice");
        if (field == "dtype") {
          const std::string type = in.read_string();
          if (type == "F32") entry.type = dtype::f32;
          else if (type == "F64") entry.type = dtype::f64;
          else fail("tensor '" + key + "' has dtype " + type + "; only F32 and F64 are supported");
        } else if (field == "shape") {
          entry.shape = in.read_unsigned_array();
        } else if (field == "data_offsets") {
          const auto offsets = in.read_unsigned_array();
          if (offsets.size() != 2) fail("tensor '" + key + "' has data_offsets that are not [begin, end]");
          entry.begin = offsets[0];
          entry.end = offsets[1];
        } else {
          fail("tensor '" + key + "' has an unknown field '" + field + "'");
        }
      });
      for (const char* required : {"dtype", "shape", "data_offsets"})
        if (!fields.contains(required)) fail("tensor '" + key + "' has no " + required);
      header.entries.push_back(std::move(entry));
    });
    in.expect_end();
  } catch (const json_error& error) {
    fail(std::string("malformed JSON header ") + error.what());
  }
  return header;
}

// The tensors must tile the data section exactly: in offset order, each
// starts where the previous one ends, and the last ends at the file's end.
inline void check_layout(const std::filesystem::path& path, std::vector<header_entry>& entries,
                         std::uint64_t data_size) {
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

}  // namespace detail

// Throws checkpoint_error naming `path` on invalid tensors or any write failure.
inline void save_safetensors(const std::filesystem::path& path, std::span<const tensor_view> tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  std::set<std::string_view> names;
  for (const tensor_view& tensor : tensors) {
    const auto fail = [&](const std::string& problem) {
      throw checkpoint_error(path, "cannot save tensor '" + tensor.name + "': " + problem);
    };
    if (tensor.name == "__metadata__") fail("the name is reserved for the metadata");
    if (!names.insert(tensor.name).second) fail("the name is given twice");
    std::uint64_t bytes = 0;
    const bool fits = detail::byte_count(tensor.shape, dtype_size(tensor.type()), bytes);
    const std::size_t size = std::visit([](auto data) { return data.size(); }, tensor.data);
    if (!fits || bytes != size * dtype_size(tensor.type()))
      fail("shape " + detail::shape_text(tensor.shape) + " does not match its " + std::to_string(size) +
           " values");
  }

  const std::string header = detail::safetensors_header(tensors, metadata);
  std::array<std::byte, 8> length{};
  for (std::size_t i = 0; i < 8; ++i) length[i] = static_cast<std::byte>(header.size() >> (8 * i));

  std::vector<std::span<const std::byte>> parts{length, std::as_bytes(std::span(header))};
  for (const tensor_view& tensor : tensors)
    parts.push_back(std::visit([](auto data) { return std::as_bytes(data); }, tensor.data));
  write_file_atomically<checkpoint_error>(path, parts);
}

inline safetensors_file load_safetensors(const std::filesystem::path& path) {
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
  if (header_size > detail::max_safetensors_header)
    fail("header length " + std::to_string(header_size) + " exceeds the limit of 100 MB");
  if (header_size > file_size - 8)
    fail("header length " + std::to_string(header_size) + " runs past the end of the file (" +
         std::to_string(file_size) + " bytes)");

  std::string header_text(header_size, '\0');
  read(header_text.data(), header_size);
  auto [metadata, entries] = detail::parse_safetensors_header(path, header_text);
  detail::check_layout(path, entries, file_size - 8 - header_size);

  safetensors_file file{.path = path, .metadata = std::move(metadata), .tensors = {}};
  for (const detail::header_entry& e : entries) {
    stored_tensor& tensor = file.tensors.emplace_back();
    tensor.name = e.name;
    tensor.shape.assign(e.shape.begin(), e.shape.end());
    const auto load = [&](auto scalar) {
      std::vector<decltype(scalar)> values((e.end - e.begin) / sizeof(scalar));
      read(values.data(), e.end - e.begin);
      tensor.data = std::move(values);
    };
    if (e.type == dtype::f32) load(float{});
    else load(double{});
  }
  return file;
}

}  // namespace typenet

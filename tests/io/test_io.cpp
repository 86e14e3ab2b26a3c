// The io headers: safetensors checkpoints, PNG images, the labelled image
// grid, the epoch CSV log and gnuplot plots. Every error must name its file.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>  // reads the header back, to check offsets
#include <stb/stb_image.h>  // reads back our PNGs: checks how we call the encoder (size, channels, rows)

#include <typenet/io/bitmap_font.hpp>
#include <typenet/io/csv_log.hpp>
#include <typenet/io/image_grid.hpp>
#include <typenet/io/plot.hpp>
#include <typenet/io/png.hpp>
#include <typenet/io/safetensors.hpp>

namespace fs = std::filesystem;
using namespace typenet;

namespace {

// A fresh directory per test case, removed afterwards.
struct scratch_directory {
  fs::path path;
  scratch_directory() {
    static int count = 0;
    path = fs::temp_directory_path() /
           ("typenet_test_io_" + std::to_string(::getpid()) + "_" + std::to_string(count++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_directory() {
    std::error_code ignored;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path, ignored);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string little_endian_u64(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A safetensors file with a hand-written header, for the corruption cases.
void write_raw_safetensors(const fs::path& path, const std::string& header, std::size_t data_bytes) {
  write_bytes(path, little_endian_u64(header.size()) + header + std::string(data_bytes, '\0'));
}

bool has_temporary_files(const fs::path& directory) {
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

// Predicate for BOOST_CHECK_EXCEPTION: the message starts with the file and says `problem`.
template <class Error = checkpoint_error>
auto names_file_and(const fs::path& path, const std::string& problem) {
  return [=](const Error& e) {
    BOOST_TEST_MESSAGE("  " << e.what());
    const std::string message = e.what();
    return message.starts_with(path.string() + ": ") && message.find(problem) != std::string::npos &&
           e.path() == path;
  };
}

std::uint32_t big_endian_u32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

struct decoded_image {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
};

// `channels` 0: as stored; 1 to 4: converted to that many.
decoded_image decode_png(const fs::path& path, int channels = 0) {
  decoded_image image;
  unsigned char* data = stbi_load(path.c_str(), &image.width, &image.height, &image.channels, channels);
  BOOST_REQUIRE_MESSAGE(data != nullptr, "stb_image cannot decode " << path << ": " << stbi_failure_reason());
  if (channels != 0) image.channels = channels;
  image.pixels.assign(data, data + image.width * image.height * image.channels);
  stbi_image_free(data);
  return image;
}

}  // namespace

// ---------------------------------------------------------------- safetensors

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(round_trip_keeps_names_shapes_values_and_metadata) {
  scratch_directory dir;
  const auto path = dir / "model.safetensors";
  const std::vector<float> weight{1.5f, -2.25f, 1e-30f, std::numeric_limits<float>::max(), 0.0f, -0.0f, 3.0f, 4.0f};
  const std::vector<float> bias{0.125f, -7.0f};
  const std::vector<double> gradient{0.1, -1e-300, 1.0 / 3.0};  // not representable in float
  const std::map<std::string, std::string> metadata{{"epoch", "3"}, {"note", "quote \" tab \t \x01 é"}};
  save_safetensors(path,
                   std::vector<tensor_view>{{"conv1.weight", {2, 1, 2, 2}, weight},
                                            {"conv1.bias", {2}, bias},
                                            {"grad", {3}, gradient}},
                   metadata);

  const auto file = load_safetensors(path);
  BOOST_TEST(file.metadata == metadata);
  BOOST_REQUIRE_EQUAL(file.tensors.size(), 3u);
  BOOST_TEST(file.tensors[0].name == "grad");  // 8-byte tensors first, then the order given
  BOOST_TEST(file.tensors[1].name == "conv1.weight");
  BOOST_TEST(file.tensors[2].name == "conv1.bias");
  BOOST_TEST((file.at("conv1.weight").shape == std::vector<std::size_t>{2, 1, 2, 2}));
  BOOST_TEST((file.at("grad").type() == dtype::f64));

  const auto w = file.values<float>("conv1.weight", {2, 1, 2, 2});
  BOOST_TEST(std::vector<float>(w.begin(), w.end()) == weight, boost::test_tools::per_element());
  BOOST_TEST(std::signbit(w[5]));
  const auto b = file.values<float>("conv1.bias", {2});
  BOOST_TEST(std::vector<float>(b.begin(), b.end()) == bias, boost::test_tools::per_element());
  const auto g = file.values<double>("grad", {3});
  BOOST_TEST(std::vector<double>(g.begin(), g.end()) == gradient, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(values_checks_name_dtype_and_shape) {
  scratch_directory dir;
  const auto path = dir / "model.safetensors";
  const std::vector<float> bias{1, 2};
  save_safetensors(path, std::vector<tensor_view>{{"bias", {2}, bias}});
  const auto file = load_safetensors(path);
  BOOST_CHECK_EXCEPTION(file.values<float>("weight", {2}), checkpoint_error, names_file_and(path, "no tensor named 'weight'"));
  BOOST_CHECK_EXCEPTION(file.values<double>("bias", {2}), checkpoint_error, names_file_and(path, "is F32, expected F64"));
  BOOST_CHECK_EXCEPTION(file.values<float>("bias", {1, 2}), checkpoint_error,
                        names_file_and(path, "has shape [2], expected [1,2]"));
}

// The reference implementation writes exactly these bytes for {"a": [1, -2]}:
// the length prefix, compact JSON with fields in this order, spaces up to a
// multiple of 8, then the floats.
BOOST_AUTO_TEST_CASE(layout_is_byte_exact) {
  scratch_directory dir;
  const auto path = dir / "a.safetensors";
  const std::vector<float> a{1.0f, -2.0f};
  save_safetensors(path, std::vector<tensor_view>{{"a", {2}, a}});
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})"
                             "  ";
  BOOST_TEST(header.size() == 56u);
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  BOOST_TEST(read_bytes(path) == std::string("\x38\0\0\0\0\0\0\0", 8) + header + data);
}

// Reported: F64 optimizer state after 3 + 0 floats of network<input<3>, dense<1>>
// started at byte 12 of the data. Every tensor must start at a multiple of its
// element size, with no gap (the reference reader refuses gaps).
BOOST_AUTO_TEST_CASE(every_tensor_starts_at_a_multiple_of_its_element_size) {
  scratch_directory dir;
  const auto path = dir / "aligned.safetensors";
  const std::vector<float> weight{1, 2, 3};
  const std::vector<double> state{0.5, 0.25};
  const std::vector<std::int64_t> count{7};
  save_safetensors(path, std::vector<tensor_view>{{"0.weight", {1, 3}, weight},
                                                  {"0.num_batches_tracked", {}, count},
                                                  {".optimizer.state", {2}, state}});
  const std::string bytes = read_bytes(path);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | static_cast<unsigned char>(bytes[i]);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_size));
  BOOST_TEST(header_size % 8 == 0u);
  for (const auto& [name, size] : {std::pair{"0.weight", 4u}, {"0.num_batches_tracked", 8u}, {".optimizer.state", 8u}})
    BOOST_TEST(header.at(name).at("data_offsets")[0].get<std::uint64_t>() % size == 0u, name);
  const auto file = load_safetensors(path);
  BOOST_TEST(file.values<std::int64_t>("0.num_batches_tracked", {})[0] == 7);
  BOOST_TEST(file.values<double>(".optimizer.state", {2})[1] == 0.25);
  BOOST_TEST(file.values<float>("0.weight", {1, 3})[2] == 3.0f);
}

BOOST_AUTO_TEST_CASE(metadata_comes_first_and_strings_are_escaped) {
  scratch_directory dir;
  const auto path = dir / "m.safetensors";
  const std::vector<double> x{0.5};
  save_safetensors(path, std::vector<tensor_view>{{"x\"", {}, x}}, {{"k", "line\nbreak"}});
  const std::string header =
      R"({"__metadata__":{"k":"line\nbreak"},"x\"":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})"
      "      ";
  BOOST_TEST(header.size() % 8 == 0u);
  BOOST_TEST(read_bytes(path).substr(0, 8 + header.size()) == little_endian_u64(header.size()) + header);
  BOOST_TEST(load_safetensors(path).metadata.at("k") == "line\nbreak");
}

BOOST_AUTO_TEST_CASE(missing_file) {
  scratch_directory dir;
  const auto path = dir / "none.safetensors";
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "no such file"));
}

BOOST_AUTO_TEST_CASE(file_shorter_than_the_length_prefix) {
  scratch_directory dir;
  const auto path = dir / "short.safetensors";
  write_bytes(path, "abc");
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "too short"));
}

BOOST_AUTO_TEST_CASE(header_length_beyond_the_file) {
  scratch_directory dir;
  const auto path = dir / "long.safetensors";
  write_bytes(path, little_endian_u64(1000) + R"({"a":{}})");
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "runs past the end"));
}

BOOST_AUTO_TEST_CASE(header_length_over_the_limit) {
  scratch_directory dir;
  const auto path = dir / "huge.safetensors";
  write_bytes(path, little_endian_u64(std::uint64_t{1} << 62) + "{}");
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "exceeds the limit"));
}

BOOST_AUTO_TEST_CASE(truncated_data) {
  scratch_directory dir;
  const auto path = dir / "cut.safetensors";
  const std::vector<float> a{1, 2, 3, 4};
  save_safetensors(path, std::vector<tensor_view>{{"a", {4}, a}});
  fs::resize_file(path, fs::file_size(path) - 4);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "truncated"));
}

BOOST_AUTO_TEST_CASE(malformed_json) {
  scratch_directory dir;
  const auto path = dir / "bad.safetensors";
  const std::string tensor = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  for (const std::string& header : std::vector<std::string>{
           R"({"a":)" + tensor,                               // unclosed object
           R"({"a":)" + tensor + ",}",                        // trailing comma
           R"({"a" )" + tensor + "}",                         // missing colon
           R"({"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}})",    // leading zero
           R"({"a":{"dtype":F32,"shape":[2],"data_offsets":[0,8]}})",       // unquoted
           R"({"a\q":)" + tensor + "}",                       // unknown escape
           R"({"a":)" + tensor + "} x",                       // text after the object
           std::string(R"({"a)") + '\n' + R"(":)" + tensor + "}",  // raw control character
           std::string(R"({"a)") + '\xff' + R"(":)" + tensor + "}",  // not UTF-8
           R"({"a":)" + tensor + " /* comment */}",           // comments are not JSON
       }) {
    BOOST_TEST_CONTEXT("header " << header) {
      write_raw_safetensors(path, header, 8);
      BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "malformed JSON header at byte"));
    }
  }
}

// Well-formed JSON, but not what a safetensors header holds.
BOOST_AUTO_TEST_CASE(values_of_the_wrong_kind) {
  scratch_directory dir;
  const auto path = dir / "kind.safetensors";
  const std::string tensor = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  std::string thousand_floats = "1.0";
  for (int i = 1; i < 1000; ++i) thousand_floats += ",1.0";
  for (const auto& [header, problem] : std::vector<std::pair<std::string, std::string>>{
           {R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", "tensor 'a' has shape [2.0], not a list of non-negative integers"},
           {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "tensor 'a' has shape [-2], not a list"},
           {R"({"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})", "not a list of non-negative integers"},
           {R"({"a":{"dtype":"F32","shape":[)" + thousand_floats + R"(],"data_offsets":[0,8]}})",
            "has shape [1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0..., not a list"},  // quoted briefly
           {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", "tensor 'a' has data_offsets [0,8.0] that are not [begin, end]"},
           {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,1e999]}})", "malformed JSON header: number overflow"},
           {R"({"a":{"dtype":null,"shape":[2],"data_offsets":[0,8]}})", "tensor 'a' has dtype null; only F32, F64 and I64"},
           {R"({"a":[2]})", "tensor 'a' is not an object"},
           {R"({"__metadata__":{"epoch":3},"a":)" + tensor + "}", "the metadata's 'epoch' is 3, not a string"},
           {R"({"__metadata__":["epoch"],"a":)" + tensor + "}", "its __metadata__ is array, not an object"},
           {R"([)" + tensor + "]", "the header is array, not a JSON object"},
       }) {
    BOOST_TEST_CONTEXT("header " << header) {
      write_raw_safetensors(path, header, 8);
      BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, problem));
    }
  }
}

BOOST_AUTO_TEST_CASE(unicode_escapes_are_decoded) {
  scratch_directory dir;
  const auto path = dir / "u.safetensors";
  write_raw_safetensors(path, R"({"\u00e9\ud83d\ude00":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4);
  BOOST_TEST(load_safetensors(path).tensors.at(0).name == "\u00e9\U0001F600");
}

BOOST_AUTO_TEST_CASE(unknown_dtype) {
  scratch_directory dir;
  const auto path = dir / "i32.safetensors";
  write_raw_safetensors(path, R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error,
                        names_file_and(path, "tensor 'a' has dtype I32; only F32, F64 and I64 are supported"));
}

// Reported: typenet refused a PyTorch state_dict for its num_batches_tracked, a 0-dimensional I64.
BOOST_AUTO_TEST_CASE(i64_scalars_are_read) {
  scratch_directory dir;
  const auto path = dir / "i64.safetensors";
  write_raw_safetensors(path, R"({"1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})", 8);
  const auto file = load_safetensors(path);
  BOOST_TEST((file.at("1.num_batches_tracked").type() == dtype::i64));
  BOOST_TEST(file.values<std::int64_t>("1.num_batches_tracked", {})[0] == 0);
}

BOOST_AUTO_TEST_CASE(missing_and_unknown_fields) {
  scratch_directory dir;
  const auto path = dir / "fields.safetensors";
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[2]}})", 0);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "tensor 'a' has no data_offsets"));
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "unknown field 'stride'"));
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "not [begin, end]"));
}

BOOST_AUTO_TEST_CASE(duplicate_names) {
  scratch_directory dir;
  const auto path = dir / "twice.safetensors";
  write_raw_safetensors(path,
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "the header names 'a' twice"));
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[1],"dtype":"F64","data_offsets":[0,4]}})", 4);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "tensor 'a' names 'dtype' twice"));
  write_raw_safetensors(path, R"({"__metadata__":{"k":"1","k":"2"}})", 0);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "the metadata names 'k' twice"));
}

BOOST_AUTO_TEST_CASE(shape_disagrees_with_offsets) {
  scratch_directory dir;
  const auto path = dir / "shape.safetensors";
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error,
                        names_file_and(path, "tensor 'a' of shape [3] and dtype F32 needs 12 bytes"));
}

BOOST_AUTO_TEST_CASE(shape_whose_size_overflows) {
  scratch_directory dir;
  const auto path = dir / "overflow.safetensors";
  write_raw_safetensors(path, R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "more bytes than a 64-bit size holds"));
}

BOOST_AUTO_TEST_CASE(overlapping_offsets) {
  scratch_directory dir;
  const auto path = dir / "overlap.safetensors";
  write_raw_safetensors(path,
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error,
                        names_file_and(path, "tensor 'b' has data_offsets [4,12] overlapping tensor 'a'"));
}

BOOST_AUTO_TEST_CASE(gaps_and_trailing_bytes) {
  scratch_directory dir;
  const auto path = dir / "gap.safetensors";
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "data bytes [0,4) belong to no tensor"));
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "4 data bytes after the last tensor"));
  write_raw_safetensors(path, R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8);
  BOOST_CHECK_EXCEPTION(load_safetensors(path), checkpoint_error, names_file_and(path, "end before they begin"));
}

BOOST_AUTO_TEST_CASE(save_rejects_bad_tensors_and_writes_nothing) {
  scratch_directory dir;
  const auto path = dir / "bad.safetensors";
  const std::vector<float> three{1, 2, 3};
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"a", {2, 2}, three}}), checkpoint_error,
                        names_file_and(path, "cannot save tensor 'a': shape [2,2] does not match its 3 values"));
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"a", {3}, three}, {"a", {3}, three}}),
                        checkpoint_error, names_file_and(path, "cannot save tensor 'a': the name is given twice"));
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"__metadata__", {3}, three}}),
                        checkpoint_error, names_file_and(path, "reserved"));
  // The reader refuses what is not UTF-8, so the writer must not write it.
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"a\xff", {3}, three}}), checkpoint_error,
                        names_file_and(path, "cannot save: a tensor name or metadata string is not UTF-8"));
  BOOST_TEST(!fs::exists(path));
  BOOST_TEST(!has_temporary_files(dir.path));
}

// The rename is the commit point: when it cannot happen (here the target is a
// directory), nothing at the target changes and the temporary file is gone.
BOOST_AUTO_TEST_CASE(failed_rename_leaves_target_and_no_temporary_file) {
  scratch_directory dir;
  const auto path = dir / "model.safetensors";
  fs::create_directory(path);
  write_bytes(path / "keep", "precious");
  const std::vector<float> a{1, 2};
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"a", {2}, a}}), checkpoint_error,
                        names_file_and(path, "cannot rename"));
  BOOST_TEST(read_bytes(path / "keep") == "precious");
  BOOST_TEST(!has_temporary_files(dir.path));
}

// A write that fails half way (the file-size limit stands in for a full disk)
// must leave the previous checkpoint exactly as it was.
BOOST_AUTO_TEST_CASE(failed_write_keeps_the_previous_checkpoint) {
  scratch_directory dir;
  const auto path = dir / "model.safetensors";
  const std::vector<float> old_values{1, 2, 3};
  save_safetensors(path, std::vector<tensor_view>{{"w", {3}, old_values}}, {{"epoch", "1"}});
  const std::string before = read_bytes(path);

  const std::vector<float> new_values(100'000, 0.5f);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // so write() fails with EFBIG instead
  rlimit previous_limit{};
  ::getrlimit(RLIMIT_FSIZE, &previous_limit);
  rlimit small = previous_limit;
  small.rlim_cur = 4096;
  BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"w", {100'000}, new_values}}),
                        checkpoint_error, names_file_and(path, "cannot write"));
  ::setrlimit(RLIMIT_FSIZE, &previous_limit);
  std::signal(SIGXFSZ, previous_handler);

  BOOST_TEST(read_bytes(path) == before);
  BOOST_TEST(load_safetensors(path).metadata.at("epoch") == "1");
  BOOST_TEST(!has_temporary_files(dir.path));
}

BOOST_AUTO_TEST_CASE(missing_directory) {
  scratch_directory dir;
  const auto path = dir / "no" / "model.safetensors";
  const std::vector<float> a{1};
  BOOST_CHECK_EXCEPTION(save_safetensors(path, std::vector<tensor_view>{{"a", {1}, a}}), checkpoint_error,
                        names_file_and(path, "cannot create"));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------- png

BOOST_AUTO_TEST_SUITE(png)

BOOST_AUTO_TEST_CASE(signature_and_header_chunk) {
  scratch_directory dir;
  const auto path = dir / "rgb.png";
  const std::vector<std::uint8_t> pixels(3 * 2 * 3, 7);
  write_png(path, pixels, 3, 2, pixel_format::rgb);
  const std::string bytes = read_bytes(path);
  BOOST_TEST(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  BOOST_TEST(big_endian_u32(bytes, 8) == 13u);  // IHDR's length
  BOOST_TEST(bytes.substr(12, 4) == "IHDR");
  BOOST_TEST(big_endian_u32(bytes, 16) == 3u);  // width
  BOOST_TEST(big_endian_u32(bytes, 20) == 2u);  // height
  BOOST_TEST(int(bytes[24]) == 8);              // bit depth
  BOOST_TEST(int(bytes[25]) == 2);              // colour type: RGB
  BOOST_TEST(bytes.substr(bytes.size() - 8, 4) == "IEND");
}

BOOST_AUTO_TEST_CASE(an_independent_decoder_reads_back_every_pixel) {
  scratch_directory dir;
  std::vector<std::uint8_t> grey(5 * 4), rgb(5 * 4 * 3);
  for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<std::uint8_t>(i * 13);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(255 - i * 4);
  write_png(dir / "grey.png", grey, 5, 4);
  write_png(dir / "rgb.png", rgb, 5, 4, pixel_format::rgb);

  const auto g = decode_png(dir / "grey.png");
  BOOST_TEST(g.width == 5);
  BOOST_TEST(g.height == 4);
  BOOST_TEST(g.channels == 1);
  BOOST_TEST(g.pixels == grey, boost::test_tools::per_element());
  const auto c = decode_png(dir / "rgb.png");
  BOOST_TEST(c.channels == 3);
  BOOST_TEST(c.pixels == rgb, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(errors_name_the_file) {
  scratch_directory dir;
  const std::vector<std::uint8_t> pixels(6);
  const auto wrong_size = dir / "a.png";
  BOOST_CHECK_EXCEPTION(write_png(wrong_size, pixels, 3, 3), file_error,
                        names_file_and<file_error>(wrong_size, "pixel buffer holds 6 bytes"));
  const auto nowhere = dir / "missing" / "b.png";
  BOOST_CHECK_EXCEPTION(write_png(nowhere, pixels, 3, 2), file_error, names_file_and<file_error>(nowhere, "cannot create"));
  BOOST_CHECK_EXCEPTION(write_png(wrong_size, pixels, 0, 2), file_error, names_file_and<file_error>(wrong_size, "cannot write a 0x2 PNG"));
  // stb_image_write counts in int: refused before it could overflow.
  BOOST_CHECK_EXCEPTION(write_png(wrong_size, pixels, 40'000, 40'000), file_error,
                        names_file_and<file_error>(wrong_size, "cannot write a 40000x40000 PNG (from 1x1 up to 1 GB of pixels)"));
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------- image grid

BOOST_AUTO_TEST_SUITE(image_grid)

// 5 digits of 28x28, 3 columns, scale 3: tiles of 84x84, font scale 2 so
// captions of 18 pixels (7 rows + 2), gaps of 6 pixels. 3 * (84 + 6) + 6 wide
// and 2 * (84 + 18 + 6) + 6 high.
BOOST_AUTO_TEST_CASE(dimensions_follow_the_layout) {
  scratch_directory dir;
  const auto path = dir / "grid.png";
  const std::vector<float> images(5 * 28 * 28, 0.5f);
  const std::vector<std::string> captions{"7\u21922", "t1 p7", "3>5", "a:b", "9\u21924"};
  write_labelled_grid(path, images, 5, 28, 28, captions, {.columns = 3, .scale = 3});
  const std::string bytes = read_bytes(path);
  BOOST_TEST(big_endian_u32(bytes, 16) == 276u);
  BOOST_TEST(big_endian_u32(bytes, 20) == 222u);
  BOOST_TEST(int(bytes[25]) == 0);  // grey
}

BOOST_AUTO_TEST_CASE(values_map_from_lo_hi_to_black_white) {
  // Two 2x2 images at scale 1 (gap 2, font scale 1, captions 9 high).
  const std::vector<float> images{-1.0f, 3.0f, 1.0f, std::nanf(""), 7.0f, -9.0f, 0.0f, 2.0f};
  const std::vector<std::string> captions{"", ""};
  const auto grid = render_labelled_grid(images, 2, 2, 2, captions, {.columns = 2, .scale = 1, .lo = -1.0f, .hi = 3.0f});
  BOOST_TEST(grid.width == 2u * (2 + 2) + 2);
  BOOST_TEST(grid.height == 1u * (2 + 9 + 2) + 2);
  const auto at = [&](std::size_t x, std::size_t y) { return int(grid.pixels[y * grid.width + x]); };
  BOOST_TEST(at(2, 2) == 0);    // lo
  BOOST_TEST(at(3, 2) == 255);  // hi
  BOOST_TEST(at(2, 3) == 128);  // halfway, rounded
  BOOST_TEST(at(3, 3) == 0);    // NaN
  BOOST_TEST(at(6, 2) == 255);  // above hi: clamped
  BOOST_TEST(at(7, 2) == 0);    // below lo: clamped
  BOOST_TEST(at(0, 0) == 255);  // background
}

BOOST_AUTO_TEST_CASE(captions_are_drawn_under_their_image) {
  const std::vector<float> images(2 * 4 * 4, 1.0f);
  const std::vector<std::string> captions{"8", ""};
  const auto grid = render_labelled_grid(images, 2, 4, 4, captions, {.columns = 2, .scale = 2});
  // Caption band of image i: x in [gap + i * cell_width, + tile), y below the tile.
  const std::size_t gap = 4, tile = 8, cell_width = tile + gap, band_top = gap + tile, band_height = 9;
  const auto ink_in_band = [&](std::size_t i) {
    std::size_t dark = 0;
    for (std::size_t y = band_top; y < band_top + band_height; ++y)
      for (std::size_t x = gap + i * cell_width; x < gap + i * cell_width + tile; ++x) dark += grid.pixels[y * grid.width + x] == 0;
    return dark;
  };
  BOOST_TEST(ink_in_band(0) > 0u);
  BOOST_TEST(ink_in_band(1) == 0u);
}

BOOST_AUTO_TEST_CASE(caption_count_must_match) {
  scratch_directory dir;
  const auto path = dir / "grid.png";
  const std::vector<float> images(2 * 4, 0.0f);
  const std::vector<std::string> captions{"only one"};
  BOOST_CHECK_EXCEPTION(write_labelled_grid(path, images, 2, 2, 2, captions), file_error,
                        names_file_and<file_error>(path, "1 captions for 2 images"));
  BOOST_TEST(!fs::exists(path));
}

BOOST_AUTO_TEST_CASE(text_width_counts_characters_not_bytes) {
  BOOST_TEST(text_width("7\u21922", 1) == 3u * 6 - 1);
  BOOST_TEST(text_width("t7 p2", 2) == 58u);
  BOOST_TEST(text_width("", 3) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------------ csv log

BOOST_AUTO_TEST_SUITE(csv_log)

BOOST_AUTO_TEST_CASE(header_once_then_rows_across_resumes) {
  scratch_directory dir;
  const auto path = dir / "log.csv";
  {
    epoch_log log(path);
    log.append({.epoch = 1, .train_loss = 0.3121, .train_accuracy = 90.523, .val_loss = 0.14041,
                .val_accuracy = 95.87, .learning_rate = 0.01, .seconds = 12.5});
    BOOST_TEST(read_bytes(path) ==  // on disk at once, before the log closes
               "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n"
               "1,0.312100,90.52,0.140410,95.87,0.01,12.500\n");
  }
  epoch_log resumed(path);
  resumed.append({.epoch = 2, .train_loss = 0.1, .train_accuracy = 97.0, .val_loss = 0.09,
                  .val_accuracy = 97.25, .learning_rate = 0.001234567, .seconds = 11.0});
  BOOST_TEST(read_bytes(path) ==
             "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n"
             "1,0.312100,90.52,0.140410,95.87,0.01,12.500\n"
             "2,0.100000,97.00,0.090000,97.25,0.00123457,11.000\n");
}

BOOST_AUTO_TEST_CASE(an_empty_file_gets_the_header) {
  scratch_directory dir;
  const auto path = dir / "log.csv";
  write_bytes(path, "");
  epoch_log log(path);
  BOOST_TEST(read_bytes(path) == "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
}

BOOST_AUTO_TEST_CASE(a_different_header_is_refused_and_kept) {
  scratch_directory dir;
  const auto path = dir / "other.csv";
  write_bytes(path, "iteration,lr,E_total\n1,0.5,0.3\n");
  BOOST_CHECK_EXCEPTION(epoch_log{path}, file_error, names_file_and<file_error>(path, "its header is \"iteration,lr,E_total\""));
  BOOST_TEST(read_bytes(path) == "iteration,lr,E_total\n1,0.5,0.3\n");
}

BOOST_AUTO_TEST_CASE(a_directory_is_refused) {
  scratch_directory dir;
  BOOST_CHECK_EXCEPTION(epoch_log{dir / "."}, file_error, names_file_and<file_error>(dir / ".", "is a directory, not a CSV file"));
}

BOOST_AUTO_TEST_CASE(restore_drops_a_cut_row_and_puts_back_the_lost_one) {
  scratch_directory dir;
  const auto path = dir / "log.csv";
  const std::string header = "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n";
  const std::string row1 = "1,0.312100,90.52,0.140410,95.87,0.01,12.500";
  const std::string row2 = "2,0.100000,97.00,0.090000,97.25,0.00123457,11.000";
  write_bytes(path, header + row1 + "\n" + "2,0.10");  // a crash cut the row of epoch 2
  epoch_log log(path);
  log.restore(2, row2);
  BOOST_TEST(read_bytes(path) == header + row1 + "\n" + row2 + "\n");
  log.restore(2, row2);  // nothing lost: nothing added
  BOOST_TEST(read_bytes(path) == header + row1 + "\n" + row2 + "\n");
  BOOST_CHECK_EXCEPTION(log.restore(1, row1), file_error,
                        names_file_and<file_error>(path, "has rows up to epoch 2 but the checkpoint resumed is of epoch 1"));
}

BOOST_AUTO_TEST_CASE(an_unwritable_place_is_reported) {
  scratch_directory dir;
  const auto path = dir / "missing" / "log.csv";
  BOOST_CHECK_EXCEPTION(epoch_log{path}, file_error, names_file_and<file_error>(path, "cannot open for appending"));
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------------- plot

BOOST_AUTO_TEST_SUITE(plot)

namespace {

void write_training_log(const fs::path& path) {
  epoch_log log(path);
  for (int epoch = 1; epoch <= 6; ++epoch)
    log.append({.epoch = epoch, .train_loss = 1.0 / epoch, .train_accuracy = 100 - 30.0 / epoch,
                .val_loss = 1.1 / epoch + 0.02 * epoch, .val_accuracy = 99 - 32.0 / epoch,
                .learning_rate = 0.01, .seconds = 1.0});
}

// Sets PATH for the scope of the object, so a test can hide gnuplot.
struct scoped_path {
  std::string saved;
  explicit scoped_path(const std::string& value) : saved(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", value.c_str(), 1);
  }
  ~scoped_path() { ::setenv("PATH", saved.c_str(), 1); }
};

bool is_png(const fs::path& path) { return read_bytes(path).starts_with(std::string("\x89PNG\r\n\x1a\n", 8)); }

bool has_colour(const decoded_image& image, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += 3)
    if (image.pixels[i] == r && image.pixels[i + 1] == g && image.pixels[i + 2] == b) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_missing_gnuplot_is_reported_and_the_csv_kept) {
  scratch_directory dir;
  const auto csv = dir / "log.csv", png = dir / "curves.png";
  write_training_log(csv);
  const std::string before = read_bytes(csv);
  {
    scoped_path hidden(dir.path.string());
    BOOST_TEST(find_gnuplot().empty());
    BOOST_CHECK_EXCEPTION(plot_training_curves(csv, png), plot_error,
                          names_file_and<plot_error>(png, "gnuplot was not found on PATH"));
  }
  BOOST_TEST(read_bytes(csv) == before);
  BOOST_TEST(fs::exists(dir / "curves.gp"));  // so it can be drawn later by hand
}

// A stand-in gnuplot that fails: its exit status and messages reach the error.
BOOST_AUTO_TEST_CASE(a_failing_gnuplot_is_reported_with_its_messages) {
  scratch_directory dir;
  const auto csv = dir / "log.csv", png = dir / "curves.png";
  write_training_log(csv);
  write_bytes(dir / "gnuplot", "#!/bin/sh\necho \"line 7: undefined variable: x\"\nexit 3\n");
  fs::permissions(dir / "gnuplot", fs::perms::owner_all);
  scoped_path fake(dir.path.string());
  BOOST_CHECK_EXCEPTION(plot_training_curves(csv, png), plot_error,
                        names_file_and<plot_error>(png, "failed with exit status 3:\nline 7: undefined variable: x"));
}

// gnuplot reads the CSV itself, its columns by name: a CSV without them is its
// error, with its own words, and leaves no picture.
BOOST_AUTO_TEST_CASE(gnuplot_refuses_a_csv_without_the_columns) {
  if (find_gnuplot().empty()) {
    BOOST_TEST_MESSAGE("gnuplot is not on PATH: nothing to refuse");
    return;
  }
  scratch_directory dir;
  const auto csv = dir / "other.csv", png = dir / "c.png";
  write_bytes(csv, "iteration,lr,E_total\n1,0.5,0.3\n2,0.5,0.2\n");
  BOOST_CHECK_EXCEPTION(plot_training_curves(csv, png), plot_error,
                        names_file_and<plot_error>(png, "no column with header \"epoch\""));
  BOOST_TEST(!fs::exists(png));
  BOOST_CHECK_EXCEPTION(plot_series(csv, png, {.title = "t", .x = "iteration", .y = "E"}), plot_error,
                        names_file_and<plot_error>(png, "no column with header \"E\""));
  BOOST_TEST(!fs::exists(png));
}

BOOST_AUTO_TEST_CASE(the_csv_is_never_an_output) {
  scratch_directory dir;
  const auto csv = dir / "log.csv";
  write_training_log(csv);
  const std::string before = read_bytes(csv);
  BOOST_CHECK_EXCEPTION(plot_training_curves(csv, csv), plot_error, names_file_and<plot_error>(csv, "it is the CSV being plotted"));
  BOOST_TEST(read_bytes(csv) == before);
}

BOOST_AUTO_TEST_CASE(gnuplot_draws_training_curves_and_series) {
  if (find_gnuplot().empty()) {
    BOOST_TEST_MESSAGE("gnuplot is not on PATH: no plot is drawn, only the error is checked");
    scratch_directory dir;
    write_bytes(dir / "lr.csv", "iteration,lr,E_total\n0,0.5,0.3\n");
    BOOST_CHECK_EXCEPTION(plot_series(dir / "lr.csv", dir / "lr.png", {.title = "t", .x = "iteration", .y = "E_total"}),
                          plot_error, names_file_and<plot_error>(dir / "lr.png", "gnuplot was not found on PATH"));
    return;
  }
  scratch_directory dir;
  const auto log = dir / "log.csv";
  write_training_log(log);
  plot_training_curves(log, dir / "curves.png");
  BOOST_TEST(is_png(dir / "curves.png"));

  const auto lr = dir / "lr.csv";
  std::string rows = "iteration,lr,E_total\n";
  for (const double rate : {0.1, 0.5, 2.0})
    for (int i = 0; i <= 50; ++i)
      rows += std::to_string(i) + "," + std::to_string(rate) + "," + std::to_string(0.3 * std::exp(-rate * i / 10.0)) + "\n";
  write_bytes(lr, rows);
  plot_series(lr, dir / "lr.png", {.title = "E_total by learning rate", .x = "iteration", .y = "E_total",
                                   .group_by = "lr", .log_y = true});
  BOOST_TEST(is_png(dir / "lr.png"));
  // One curve per learning rate: gnuplot's first three line colours, not a fourth.
  const auto picture = decode_png(dir / "lr.png", 3);
  BOOST_TEST(has_colour(picture, 148, 0, 211));
  BOOST_TEST(has_colour(picture, 0, 158, 115));
  BOOST_TEST(has_colour(picture, 86, 180, 233));
  BOOST_TEST(!has_colour(picture, 230, 159, 0));
  BOOST_TEST(!fs::exists(dir / "lr.dat"));  // gnuplot read the CSV itself
}

// gnuplot is started without a shell, and names reach its script quoted.
BOOST_AUTO_TEST_CASE(awkward_file_names_reach_gnuplot_unchanged) {
  if (find_gnuplot().empty()) {
    BOOST_TEST_MESSAGE("gnuplot is not on PATH: no plot is drawn");
    return;
  }
  scratch_directory dir;
  const auto log = dir / "it's a $(touch pwned) log.csv", png = dir / "curves; touch pwned.png";
  write_training_log(log);
  plot_training_curves(log, png);
  BOOST_TEST(is_png(png));
  BOOST_TEST(!fs::exists(dir / "pwned"));
  BOOST_TEST(!fs::exists("pwned"));
}

BOOST_AUTO_TEST_SUITE_END()

// Loading IDX data sets: the real MNIST files load with their published
// counts and statistics, and every kind of bad file fails with a message
// naming the file and what is wrong with it.
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <zlib.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <typenet/data/dataset.hpp>
#include <typenet/data/idx.hpp>
#include <typenet/core/random.hpp>

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

namespace {

const fs::path mnist_dir = TYPENET_TEST_DATA_DIR;

const typenet::dataset& mnist_train() {
  static const typenet::dataset data = typenet::load_idx_dataset(mnist_dir, "train");
  return data;
}

const typenet::dataset& mnist_test() {
  static const typenet::dataset data = typenet::load_idx_dataset(mnist_dir, "t10k");
  return data;
}

// A fresh directory under the system's temporary directory, removed with its contents.
struct temporary_directory {
  fs::path path;
  temporary_directory() {
    static int made = 0;
    path = fs::temp_directory_path() /
           ("typenet_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(made++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temporary_directory() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Restores TYPENET_DATA and the working directory when a test has changed them.
struct environment_guard {
  std::optional<std::string> data = std::getenv("TYPENET_DATA") ? std::optional<std::string>(std::getenv("TYPENET_DATA")) : std::nullopt;
  fs::path directory = fs::current_path();
  ~environment_guard() {
    if (data) ::setenv("TYPENET_DATA", data->c_str(), 1);
    else ::unsetenv("TYPENET_DATA");
    fs::current_path(directory);
  }
};

bytes idx_file(std::uint32_t magic, std::initializer_list<std::uint32_t> shape, bytes values) {
  bytes file;
  const auto push_big_endian = [&](std::uint32_t word) {
    for (int shift = 24; shift >= 0; shift -= 8) file.push_back(static_cast<std::uint8_t>(word >> shift));
  };
  push_big_endian(magic);
  for (std::uint32_t extent : shape) push_big_endian(extent);
  file.insert(file.end(), values.begin(), values.end());
  return file;
}

bytes images_file(std::uint32_t count, std::uint32_t rows = 28, std::uint32_t cols = 28) {
  return idx_file(0x803, {count, rows, cols}, bytes(std::size_t{count} * rows * cols, 7));
}

bytes labels_file(std::uint32_t count) {
  bytes labels(count);
  for (std::uint32_t i = 0; i < count; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  return idx_file(0x801, {count}, labels);
}

void write_raw(const fs::path& path, const bytes& content) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
}

void write_gz(const fs::path& path, const bytes& content) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  BOOST_REQUIRE(file != nullptr);
  BOOST_REQUIRE_EQUAL(gzwrite(file, content.data(), static_cast<unsigned>(content.size())),
                      static_cast<int>(content.size()));
  BOOST_REQUIRE_EQUAL(gzclose(file), Z_OK);
}

bytes read_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return bytes(std::istreambuf_iterator<char>(in), {});
}

bytes decompress(const fs::path& path) {
  gzFile file = gzopen(path.string().c_str(), "rb");
  BOOST_REQUIRE(file != nullptr);
  bytes content;
  std::array<std::uint8_t, 1 << 16> buffer;
  while (int n = gzread(file, buffer.data(), buffer.size())) {
    BOOST_REQUIRE(n > 0);
    content.insert(content.end(), buffer.begin(), buffer.begin() + n);
  }
  gzclose(file);
  return content;
}

// A directory with a good train set of `count` images, to spoil one file of.
void write_train_set(const fs::path& dir, std::uint32_t count = 10) {
  write_gz(dir / "train-images-idx3-ubyte.gz", images_file(count));
  write_gz(dir / "train-labels-idx1-ubyte.gz", labels_file(count));
}

// Requires that `action` throws data_error whose message contains every one of `parts`.
template <class Action>
void require_data_error(Action action, std::initializer_list<std::string> parts) {
  try {
    action();
  } catch (const typenet::data_error& error) {
    const std::string message = error.what();
    BOOST_TEST_MESSAGE("data_error: " << message);
    for (const std::string& part : parts)
      BOOST_CHECK_MESSAGE(message.find(part) != std::string::npos,
                          "message lacks \"" << part << "\": " << message);
    return;
  }
  BOOST_ERROR("no data_error thrown");
}

void require_load_error(const fs::path& dir, std::initializer_list<std::string> parts) {
  require_data_error([&] { typenet::load_idx_dataset(dir, "train"); }, parts);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(real_mnist)

BOOST_AUTO_TEST_CASE(train_holds_60000_images_of_28x28) {
  const auto& train = mnist_train();
  BOOST_TEST(train.count == 60000u);
  BOOST_TEST(train.image.channels == 1u);
  BOOST_TEST(train.image.height == 28u);
  BOOST_TEST(train.image.width == 28u);
  BOOST_TEST(train.classes == 10u);
  BOOST_TEST(train.pixels.size() == 60000u * 28 * 28);
  BOOST_TEST(train.labels.size() == 60000u);
  BOOST_TEST(train.image.size() == 784u);
}

BOOST_AUTO_TEST_CASE(t10k_holds_10000_images_of_28x28) {
  const auto& test = mnist_test();
  BOOST_TEST(test.count == 10000u);
  BOOST_TEST(test.image.height == 28u);
  BOOST_TEST(test.image.width == 28u);
  BOOST_TEST(test.pixels.size() == 10000u * 28 * 28);
  BOOST_TEST(test.labels.size() == 10000u);
}

BOOST_AUTO_TEST_CASE(train_class_counts_are_the_published_ones) {
  std::vector<std::size_t> counts(10);
  for (auto label : mnist_train().labels) ++counts.at(label);
  const std::vector<std::size_t> published = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
  BOOST_TEST(counts == published, boost::test_tools::per_element());
}

// Fashion-MNIST comes from Debian's dataset-fashion-mnist (scripts/setup installs it)
// in the same format: 6,000 training images of each of its 10 clothing classes.
BOOST_AUTO_TEST_CASE(fashion_mnist_from_debian_loads) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  BOOST_REQUIRE_MESSAGE(fs::exists(dir), dir << " is missing: apt-get install dataset-fashion-mnist");
  const typenet::dataset train = typenet::load_idx_dataset(dir, "train");
  const typenet::dataset test = typenet::load_idx_dataset(dir, "t10k");
  BOOST_TEST(train.count == 60000u);
  BOOST_TEST(test.count == 10000u);
  BOOST_TEST(train.image.height == 28u);
  BOOST_TEST(train.image.width == 28u);
  std::array<std::size_t, 10> counts{};
  for (const std::uint8_t label : train.labels) ++counts.at(label);
  for (const std::size_t c : counts) BOOST_TEST(c == 6000u);
}

BOOST_AUTO_TEST_CASE(pixels_are_bytes_from_0_to_255_with_the_published_statistics) {
  const auto [lowest, highest] = std::ranges::minmax(mnist_train().pixels);
  BOOST_TEST(lowest == 0);
  BOOST_TEST(highest == 255);
  const auto train = typenet::pixel_statistics(mnist_train());
  BOOST_TEST(train.mean == 0.1307, boost::test_tools::tolerance(1e-4 / 0.1307));
  BOOST_TEST(train.std == 0.3081, boost::test_tools::tolerance(1e-4 / 0.3081));
  const auto test = typenet::pixel_statistics(mnist_test());
  BOOST_TEST(test.mean == 0.1325, boost::test_tools::tolerance(1e-4 / 0.1325));
  BOOST_TEST(test.std == 0.3105, boost::test_tools::tolerance(1e-4 / 0.3105));
}

BOOST_AUTO_TEST_CASE(normalising_gives_mean_0_std_1_and_black_minus_mean_over_std) {
  const typenet::dataset& test = mnist_test();
  const auto [mean, std] = typenet::pixel_statistics(test);
  const typenet::pixel_normalisation normalised({mean, std});
  double sum = 0, sum_of_squares = 0;
  for (const std::uint8_t byte : test.pixels) {
    sum += normalised(byte);
    sum_of_squares += static_cast<double>(normalised(byte)) * normalised(byte);
  }
  const auto n = static_cast<double>(test.pixels.size());
  BOOST_TEST(sum / n == 0.0, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(std::sqrt(sum_of_squares / n - (sum / n) * (sum / n)) == 1.0, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(normalised(0) == static_cast<float>(-mean / std), boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(uncompressed_files_load_identically) {
  temporary_directory dir;
  for (auto name : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    write_raw(dir.path / name, decompress(mnist_dir / (std::string(name) + ".gz")));
  const auto raw = typenet::load_idx_dataset(dir.path, "t10k");
  BOOST_TEST(raw.count == mnist_test().count);
  BOOST_TEST(raw.image.height == mnist_test().image.height);
  BOOST_TEST(raw.image.width == mnist_test().image.width);
  BOOST_TEST((raw.pixels == mnist_test().pixels));
  BOOST_TEST((raw.labels == mnist_test().labels));
}

BOOST_AUTO_TEST_SUITE_END()

// Images were floats in [0, 1] normalised in place; kept as bytes, each byte's
// float must be exactly what that gave, for results bit-identical to it.
BOOST_AUTO_TEST_CASE(each_byte_normalises_to_the_float_that_normalising_floats_gave) {
  for (const typenet::pixel_moments moments : {typenet::pixel_moments{0.1307, 0.3081}, typenet::pixel_moments{0.5, 0.25},
                                               typenet::pixel_moments{0.13251460584233699, 0.31048024301644}}) {
    const typenet::pixel_normalisation normalised(moments);
    std::vector<float> floats(256);
    for (std::size_t byte = 0; byte < 256; ++byte) floats[byte] = static_cast<float>(byte) / 255.0f;
    typenet::normalise(floats, moments.mean, moments.std);
    for (std::size_t byte = 0; byte < 256; ++byte) {
      const float old_formula = (static_cast<float>(byte) / 255.0f - static_cast<float>(moments.mean)) /
                                static_cast<float>(moments.std);
      BOOST_TEST_CONTEXT("byte " << byte) {
        BOOST_TEST(std::bit_cast<std::uint32_t>(normalised(static_cast<std::uint8_t>(byte))) ==
                   std::bit_cast<std::uint32_t>(old_formula));
        BOOST_TEST(std::bit_cast<std::uint32_t>(floats[byte]) == std::bit_cast<std::uint32_t>(old_formula));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_std_that_is_not_positive_is_refused) {
  BOOST_CHECK_THROW(typenet::pixel_normalisation({0.1, 0.0}), std::invalid_argument);
  BOOST_CHECK_THROW(typenet::pixel_normalisation({0.1, std::nan("")}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE(bad_files)

BOOST_AUTO_TEST_CASE(gz_is_preferred_to_the_uncompressed_file) {
  temporary_directory dir;
  write_train_set(dir.path, 3);
  write_raw(dir.path / "train-images-idx3-ubyte", {1, 2, 3});  // would fail if read
  BOOST_TEST(typenet::load_idx_dataset(dir.path, "train").count == 3u);
}

BOOST_AUTO_TEST_CASE(missing_file_names_the_file) {
  temporary_directory dir;
  require_load_error(dir.path, {(dir.path / "train-images-idx3-ubyte.gz").string() + ": not found",
                                "nor the uncompressed train-images-idx3-ubyte"});
  write_gz(dir.path / "train-images-idx3-ubyte.gz", images_file(2));
  require_load_error(dir.path, {(dir.path / "train-labels-idx1-ubyte.gz").string() + ": not found"});
}

BOOST_AUTO_TEST_CASE(wrong_magic_number) {
  temporary_directory dir;
  write_train_set(dir.path);
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_file(0x801, {10, 28, 28}, bytes(7840)));
  require_load_error(dir.path, {(dir.path / "train-images-idx3-ubyte.gz").string() + ": wrong magic number 0x00000801, expected 0x00000803",
                                "has rank 1"});
}

BOOST_AUTO_TEST_CASE(not_an_idx_file) {
  temporary_directory dir;
  write_train_set(dir.path);
  std::string text = "<html>Not Found</html>";
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", bytes(text.begin(), text.end()));
  require_load_error(dir.path, {"train-labels-idx1-ubyte.gz: wrong magic number", "not an IDX file"});
}

BOOST_AUTO_TEST_CASE(zero_dimension) {
  temporary_directory dir;
  write_train_set(dir.path);
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_file(0x803, {10, 0, 28}, {}));
  require_load_error(dir.path, {"train-images-idx3-ubyte.gz: dimension 1 is 0"});
}

BOOST_AUTO_TEST_CASE(truncated_header) {
  temporary_directory dir;
  write_train_set(dir.path);
  write_raw(dir.path / "train-images-idx3-ubyte.gz", {0, 0, 8, 3, 0, 0});
  require_load_error(dir.path, {"train-images-idx3-ubyte.gz: truncated header: 6 of its 16 bytes"});
}

BOOST_AUTO_TEST_CASE(truncated_images) {
  temporary_directory dir;
  write_train_set(dir.path);
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_file(0x803, {10, 28, 28}, bytes(1000)));
  require_load_error(dir.path, {(dir.path / "train-images-idx3-ubyte.gz").string() +
                                ": truncated: header says 10 images of 28x28 (7840 bytes) but the file holds 1000 bytes"});
}

BOOST_AUTO_TEST_CASE(truncated_uncompressed_images) {
  temporary_directory dir;
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", labels_file(60000));
  write_raw(dir.path / "train-images-idx3-ubyte", idx_file(0x803, {60000, 28, 28}, bytes(1000)));
  require_load_error(dir.path, {(dir.path / "train-images-idx3-ubyte").string() +
                                ": truncated: header says 60000 images of 28x28 (47040000 bytes) but the file holds 1000 bytes"});
}

BOOST_AUTO_TEST_CASE(truncated_labels) {
  temporary_directory dir;
  write_train_set(dir.path);
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", idx_file(0x801, {10}, bytes(7)));
  require_load_error(dir.path, {"train-labels-idx1-ubyte.gz: truncated: header says 10 labels (10 bytes) but the file holds 7 bytes"});
}

BOOST_AUTO_TEST_CASE(trailing_bytes) {
  temporary_directory dir;
  write_train_set(dir.path);
  bytes labels = labels_file(10);
  labels.insert(labels.end(), {1, 2, 3});
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", labels);
  require_load_error(dir.path, {"train-labels-idx1-ubyte.gz: trailing garbage: 3 bytes after the 10 bytes of 10 labels"});
}

BOOST_AUTO_TEST_CASE(corrupt_gzip_checksum) {
  temporary_directory dir;
  write_train_set(dir.path);
  const fs::path labels = dir.path / "train-labels-idx1-ubyte.gz";
  bytes content = read_raw(labels);
  content[content.size() - 6] ^= 0xff;  // the CRC-32 of the uncompressed data
  write_raw(labels, content);
  require_data_error([&] { typenet::load_idx_dataset(dir.path, "train"); },
                     {labels.string() + ": corrupt gzip data: incorrect data check"});
}

BOOST_AUTO_TEST_CASE(cut_short_gzip) {
  temporary_directory dir;
  write_train_set(dir.path);
  const fs::path images = dir.path / "train-images-idx3-ubyte.gz";
  bytes content = read_raw(images);
  content.resize(content.size() / 2);
  write_raw(images, content);
  require_load_error(dir.path, {images.string() + ": cut short: the gzip stream ends before its last member's CRC and length"});
}

// zlib's gzread took these: the deflate data is whole and only the trailer (CRC-32,
// length) is missing, so the values all arrive; Python's gzip refuses them.
BOOST_AUTO_TEST_CASE(gzip_missing_1_to_8_bytes_of_its_trailer) {
  const bytes whole = read_raw(mnist_dir / "t10k-images-idx3-ubyte.gz");
  for (std::size_t cut = 1; cut <= 8; ++cut) {
    temporary_directory dir;
    const fs::path images = dir.path / "t10k-images-idx3-ubyte.gz";
    write_raw(images, bytes(whole.begin(), whole.end() - static_cast<std::ptrdiff_t>(cut)));
    require_data_error([&] { typenet::read_idx(images, 3); },
                       {images.string() + ": cut short: the gzip stream ends before its last member's CRC and length"});
  }
}

BOOST_AUTO_TEST_CASE(concatenated_gzip_members_are_one_file) {
  temporary_directory dir;
  const bytes labels = labels_file(10);
  write_gz(dir.path / "a.gz", bytes(labels.begin(), labels.begin() + 9));
  write_gz(dir.path / "b.gz", bytes(labels.begin() + 9, labels.end()));
  bytes both = read_raw(dir.path / "a.gz");
  const bytes second = read_raw(dir.path / "b.gz");
  both.insert(both.end(), second.begin(), second.end());
  write_raw(dir.path / "labels.gz", both);
  const auto read = typenet::read_idx(dir.path / "labels.gz", 1);
  BOOST_TEST(read.values == bytes(labels.begin() + 8, labels.end()), boost::test_tools::per_element());
}

// The header is checked against the network before the body is read: this body is
// cut short, so reading it would fail otherwise (the reported file held 100,000
// images of 100x100 and took 37 s and 4.9 GB to refuse).
BOOST_AUTO_TEST_CASE(images_of_another_size_are_refused_from_the_header) {
  temporary_directory dir;
  typenet::random_sequence noise(3);
  bytes body(24'000);
  for (auto& b : body) b = static_cast<std::uint8_t>(noise.below(256));
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_file(0x803, {2000, 100, 100}, body));
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", labels_file(2000));
  require_data_error([&] { typenet::load_idx_dataset(dir.path, "train", typenet::dynamic_shape{1, 28, 28}); },
                     {"train-images-idx3-ubyte.gz: holds 2000 images of 100x100 but the network's input is 1x28x28"});
}

BOOST_AUTO_TEST_CASE(a_header_claiming_more_than_gzip_can_hold_is_refused_at_once) {
  temporary_directory dir;
  write_train_set(dir.path);
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_file(0x803, {60000, 28, 28}, bytes(100)));
  require_load_error(dir.path, {"train-images-idx3-ubyte.gz: impossible header: it says 60000 images of 28x28 (47040000 bytes)",
                                "more than a gzip file of"});
}

BOOST_AUTO_TEST_CASE(image_and_label_counts_differ) {
  temporary_directory dir;
  write_gz(dir.path / "train-images-idx3-ubyte.gz", images_file(10));
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", labels_file(9));
  require_load_error(dir.path, {"train-images-idx3-ubyte.gz: holds 10 images but",
                                "train-labels-idx1-ubyte.gz holds 9 labels"});
}

BOOST_AUTO_TEST_CASE(a_label_beyond_the_networks_outputs_is_refused) {
  temporary_directory dir;
  write_gz(dir.path / "train-images-idx3-ubyte.gz", images_file(10));
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", idx_file(0x801, {10}, {0, 1, 2, 3, 10, 5, 6, 7, 8, 9}));
  require_data_error([&] { typenet::load_idx_dataset(dir.path, "train", std::nullopt, 10); },
                     {"train-labels-idx1-ubyte.gz: label 10 of image 4 is out of range: the network has 10 outputs "
                      "(classes 0..9)"});
}

BOOST_AUTO_TEST_CASE(the_classes_are_counted_from_the_labels) {
  temporary_directory dir;
  write_gz(dir.path / "train-images-idx3-ubyte.gz", images_file(10));
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", idx_file(0x801, {10}, {0, 1, 2, 3, 10, 5, 6, 7, 8, 9}));
  BOOST_TEST(typenet::load_idx_dataset(dir.path, "train").classes == 11u);
  write_gz(dir.path / "train-labels-idx1-ubyte.gz", idx_file(0x801, {10}, {0, 1, 2, 0, 1, 2, 0, 1, 2, 0}));
  BOOST_TEST(typenet::load_idx_dataset(dir.path, "train").classes == 3u);
}

BOOST_AUTO_TEST_CASE(a_directory_in_place_of_a_file) {
  temporary_directory dir;
  write_train_set(dir.path);
  fs::remove(dir.path / "train-images-idx3-ubyte.gz");
  fs::create_directory(dir.path / "train-images-idx3-ubyte.gz");
  require_load_error(dir.path, {"train-images-idx3-ubyte.gz: not a regular file"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(data_directory)

BOOST_AUTO_TEST_CASE(command_line_path_comes_first) {
  environment_guard guard;
  temporary_directory empty;
  ::setenv("TYPENET_DATA", empty.path.c_str(), 1);
  BOOST_TEST(typenet::find_data_dir(mnist_dir.string()) == mnist_dir);
}

BOOST_AUTO_TEST_CASE(typenet_data_is_honoured) {
  environment_guard guard;
  ::setenv("TYPENET_DATA", mnist_dir.c_str(), 1);
  BOOST_TEST(typenet::find_data_dir(std::nullopt) == mnist_dir);
}

BOOST_AUTO_TEST_CASE(a_named_directory_lacking_files_is_an_error) {
  environment_guard guard;
  temporary_directory dir;
  write_train_set(dir.path);
  ::setenv("TYPENET_DATA", dir.path.c_str(), 1);
  require_data_error([] { typenet::find_data_dir(std::nullopt); },
                     {dir.path.string() + ": given by TYPENET_DATA, lacks t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"});
  require_data_error([&] { typenet::find_data_dir((dir.path / "nowhere").string()); },
                     {(dir.path / "nowhere").string() + ": given by --data, is not a directory"});
}

BOOST_AUTO_TEST_CASE(data_mnist_under_the_working_directory_is_found) {
  environment_guard guard;
  temporary_directory dir;
  ::unsetenv("TYPENET_DATA");
  fs::create_directories(dir.path / "data" / "mnist");
  for (auto name : typenet::idx_dataset_files)
    fs::create_symlink(mnist_dir / (std::string(name) + ".gz"), dir.path / "data" / "mnist" / (std::string(name) + ".gz"));
  fs::current_path(dir.path);
  BOOST_TEST(typenet::find_data_dir(std::nullopt) == fs::path("./data/mnist"));
  BOOST_TEST(typenet::load_idx_dataset(typenet::find_data_dir(std::nullopt), "t10k").count == 10000u);
}

BOOST_AUTO_TEST_CASE(the_bundled_copy_is_the_last_resort) {
  environment_guard guard;
  temporary_directory dir;
  ::unsetenv("TYPENET_DATA");
  fs::current_path(dir.path);
  BOOST_TEST(typenet::find_data_dir(std::nullopt) == mnist_dir);
}

BOOST_AUTO_TEST_CASE(nothing_found_explains_where_it_looked_and_what_to_do) {
  environment_guard guard;
  temporary_directory dir;
  ::unsetenv("TYPENET_DATA");
  fs::create_directories(dir.path / "data");
  fs::current_path(dir.path);
  require_data_error([] { typenet::find_data_dir(std::nullopt, {"./data/mnist", "./data"}); },
                     {"no data directory found", "TYPENET_DATA (not set)",
                      "./data/mnist (" + (dir.path / "data" / "mnist").string() + "): no such directory",
                      "./data (" + (dir.path / "data").string() + "): lacks train-images-idx3-ubyte.gz",
                      "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                      "t10k-labels-idx1-ubyte.gz", "--data DIR", "apt-get install dataset-fashion-mnist",
                      "/usr/share/datasets/fashion-mnist"});
}

BOOST_AUTO_TEST_SUITE_END()

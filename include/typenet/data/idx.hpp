#pragma once
// IDX files, the format of MNIST and Fashion-MNIST, raw or gzip-compressed. An
// IDX file is a big-endian magic number 0x000008RR (unsigned bytes, rank RR), RR
// big-endian 32-bit dimensions, then the values in row-major order, and nothing
// after them.
//
//   typenet::idx_array images = typenet::read_idx("data/mnist/train-images-idx3-ubyte.gz", 3);
//   // images.shape == {60000, 28, 28}, images.values.size() == 47040000
//
//   typenet::idx_file file("data/mnist/train-images-idx3-ubyte.gz", 3);  // reads the header only
//   if (file.shape()[1] != 28) ...;                                     // refuse before the body
//   std::vector<std::uint8_t> values = file.read_values();
//
// Every way a file can be wrong (missing, unreadable, wrong magic number, a
// zero dimension, a body larger than the file can hold, truncated, trailing
// bytes, corrupt gzip, a gzip stream cut short before its CRC and length)
// throws data_error with a message that starts with the file's path and says
// what is wrong. The gzip stream is inflated here with zlib, to its end: a
// member that stops before its trailer is an error, as in Python's gzip.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "typenet/data/data_error.hpp"

namespace typenet {

struct idx_array {
  std::vector<std::size_t> shape;    // shape[0] is the number of items
  std::vector<std::uint8_t> values;  // row-major over shape
};

namespace detail {
class byte_source;  // the file's bytes, inflated if it is gzip
}

// An IDX file opened and its header read and checked; the values are read on demand,
// so that a caller can refuse a shape before reading a body of any size.
class idx_file {
 public:
  // `rank`: 3 for images, 1 for labels.
  idx_file(const std::filesystem::path& path, std::size_t rank);
  ~idx_file();

  // shape()[0] is the number of items.
  const std::vector<std::size_t>& shape() const noexcept { return shape_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  // "60000 images of 28x28", for messages.
  std::string describe() const;

  // The values, row-major; then checks that nothing follows them.
  std::vector<std::uint8_t> read_values();

 private:
  [[noreturn]] void truncated(std::uintmax_t holds) const;

  std::filesystem::path path_;
  std::unique_ptr<detail::byte_source> source_;
  std::vector<std::size_t> shape_;
  std::size_t size_ = 1, header_size_ = 0;
};

// Reads `path`, which must hold unsigned bytes of rank `rank` (3 for images, 1 for labels).
idx_array read_idx(const std::filesystem::path& path, std::size_t rank);

}  // namespace typenet

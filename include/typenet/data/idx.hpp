#pragma once
// read_idx: one IDX file, the format of MNIST and Fashion-MNIST, raw or
// gzip-compressed (zlib reads both). An IDX file is a big-endian magic number
// 0x000008RR (unsigned bytes, rank RR), RR big-endian 32-bit dimensions, then
// the values in row-major order, and nothing after them.
//
//   typenet::idx_array images = typenet::read_idx("data/mnist/train-images-idx3-ubyte.gz", 3);
//   // images.shape == {60000, 28, 28}, images.values.size() == 47040000
//
// Every way a file can be wrong (missing, unreadable, wrong magic number, a
// zero dimension, truncated, trailing bytes, corrupt gzip) throws data_error
// with a message that starts with the file's path and says what is wrong.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include "typenet/data/data_error.hpp"

namespace typenet {

struct idx_array {
  std::vector<std::size_t> shape;    // shape[0] is the number of items
  std::vector<std::uint8_t> values;  // row-major over shape
};

namespace detail {

struct gz_closer {
  void operator()(gzFile file) const noexcept { gzclose(file); }
};
using gz_handle = std::unique_ptr<gzFile_s, gz_closer>;

inline std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

inline std::uint32_t big_endian32(const std::uint8_t* bytes) noexcept {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
         std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

// "60000 images of 28x28", "60000 labels", or "an array of 2x3x4x5".
inline std::string describe_idx_shape(const std::vector<std::size_t>& shape) {
  std::string extents;
  for (std::size_t d = shape.size() == 3 ? 1 : 0; d < shape.size(); ++d)
    extents.append(extents.empty() ? "" : "x").append(std::to_string(shape[d]));
  if (shape.size() == 3) return std::to_string(shape[0]) + " images of " + extents;
  if (shape.size() == 1) return std::to_string(shape[0]) + " labels";
  return "an array of " + extents;
}

// Reads up to `size` bytes, fewer only at the end of the data. gzread reports
// a corrupt or cut-short gzip stream through gzerror, not through a short
// read, so that is checked after every call.
inline std::size_t read_bytes(gzFile file, const std::filesystem::path& path, std::uint8_t* out,
                              std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - got, 1u << 24));
    const int n = gzread(file, out + got, chunk);
    int status = Z_OK;
    std::string message = gzerror(file, &status);
    if (status == Z_ERRNO) throw data_error(path, std::string("read error: ") + std::strerror(errno));
    if (n < 0 || status != Z_OK) {
      // zlib prefixes its message with the path, which data_error adds already.
      if (const std::string prefix = path.string() + ": "; message.starts_with(prefix))
        message.erase(0, prefix.size());
      throw data_error(path, "corrupt or cut-short gzip data: " + message);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

}  // namespace detail

// Reads `path`, which must hold unsigned bytes of rank `rank` (3 for images,
// 1 for labels).
inline idx_array read_idx(const std::filesystem::path& path, std::size_t rank) {
  std::error_code ignored;
  const auto status = std::filesystem::status(path, ignored);
  if (!std::filesystem::exists(status)) throw data_error(path, "not found");
  if (!std::filesystem::is_regular_file(status)) throw data_error(path, "not a regular file");
  errno = 0;
  const detail::gz_handle file(gzopen(path.string().c_str(), "rb"));
  if (!file)
    throw data_error(path, std::string("cannot open: ") +
                               (errno != 0 ? std::strerror(errno) : "out of memory"));
  gzbuffer(file.get(), 1u << 17);

  const std::size_t header_size = 4 + 4 * rank;
  std::vector<std::uint8_t> header(header_size);
  const std::size_t header_got = detail::read_bytes(file.get(), path, header.data(), header_size);
  if (header_got < 4)
    throw data_error(path, "not an IDX file: only " + std::to_string(header_got) + " bytes long");

  const std::uint32_t magic = detail::big_endian32(header.data());
  const std::uint32_t expected = 0x800u | static_cast<std::uint32_t>(rank);
  if (magic != expected) {
    std::string why = "wrong magic number " + detail::hex32(magic) + ", expected " +
                      detail::hex32(expected) + " (IDX of unsigned bytes, rank " +
                      std::to_string(rank) + ")";
    if ((magic & ~0xffu) == 0x800u)
      why += ": this IDX file has rank " + std::to_string(magic & 0xffu);
    else if ((magic >> 16) != 0)
      why += ": not an IDX file";
    throw data_error(path, why);
  }
  if (header_got < header_size)
    throw data_error(path, "truncated header: " + std::to_string(header_got) + " of its " +
                               std::to_string(header_size) + " bytes");

  idx_array array;
  // A corrupt header could claim any size; 2^36 bytes is far beyond any IDX
  // data set, and the limit keeps the product below overflow.
  constexpr std::size_t implausible = std::size_t{1} << 36;
  std::size_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::size_t extent = detail::big_endian32(header.data() + 4 + 4 * d);
    if (extent == 0) throw data_error(path, "dimension " + std::to_string(d) + " is 0");
    array.shape.push_back(extent);
    total = extent > implausible / total ? implausible : total * extent;
  }
  const std::string described = detail::describe_idx_shape(array.shape);
  if (total >= implausible) throw data_error(path, "implausible header: " + described);

  // Grow with what arrives rather than trusting the header with one allocation.
  constexpr std::size_t chunk = std::size_t{1} << 24;
  std::size_t got = 0;
  while (got < total) {
    const std::size_t want = std::min(total - got, chunk);
    array.values.resize(got + want);
    const std::size_t n = detail::read_bytes(file.get(), path, array.values.data() + got, want);
    got += n;
    if (n < want) break;
  }
  if (got < total)
    throw data_error(path, "truncated: header says " + described + " (" + std::to_string(total) +
                               " bytes) but the file holds " + std::to_string(got) +
                               " bytes after its " + std::to_string(header_size) + "-byte header");

  // Reading to the end also makes zlib check the gzip CRC of the last block.
  std::array<std::uint8_t, 4096> rest;
  std::size_t trailing = 0;
  while (const std::size_t n = detail::read_bytes(file.get(), path, rest.data(), rest.size()))
    trailing += n;
  if (trailing != 0)
    throw data_error(path, "trailing garbage: " + std::to_string(trailing) +
                               " bytes after the " + std::to_string(total) + " bytes of " +
                               described);
  return array;
}

}  // namespace typenet

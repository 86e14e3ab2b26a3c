#pragma once
// write_png: an 8-bit grey or RGB image, row-major, top row first, RGB
// interleaved, saved as a PNG.
//
//   std::vector<std::uint8_t> pixels(28 * 28);          // 0 black .. 255 white
//   typenet::write_png("digit.png", pixels, 28, 28);     // or pixel_format::rgb, 3 bytes a pixel
//
// Written with zlib, which the library already links for MNIST: a PNG of this
// kind is the signature and three chunks (IHDR, one IDAT, IEND), so neither
// libpng nor a stb implementation unit is worth adding. The write is atomic;
// errors are file_error naming the file.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "typenet/io/atomic_write.hpp"
#include "typenet/io/file_error.hpp"

namespace typenet {

enum class pixel_format : std::uint8_t { grey = 1, rgb = 3 };  // value: bytes per pixel

namespace detail {

inline void append_big_endian(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// Length, type, data, then the CRC of type and data.
inline void append_png_chunk(std::vector<std::uint8_t>& out, std::string_view type,
                             std::span<const std::uint8_t> data) {
  append_big_endian(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t type_at = out.size();
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), data.begin(), data.end());
  const std::uint32_t crc = static_cast<std::uint32_t>(
      ::crc32(0, out.data() + type_at, static_cast<uInt>(out.size() - type_at)));
  append_big_endian(out, crc);
}

}  // namespace detail

inline void write_png(const std::filesystem::path& path, std::span<const std::uint8_t> pixels, std::size_t width,
                      std::size_t height, pixel_format format = pixel_format::grey) {
  const auto channels = static_cast<std::size_t>(format);
  if (width == 0 || height == 0 || width > 0x7fff'ffff || height > 0x7fff'ffff)
    throw file_error(path, "cannot write a " + std::to_string(width) + "x" + std::to_string(height) + " PNG");
  if (pixels.size() != width * height * channels)
    throw file_error(path, "pixel buffer holds " + std::to_string(pixels.size()) + " bytes, a " +
                               std::to_string(width) + "x" + std::to_string(height) + " image needs " +
                               std::to_string(width * height * channels));

  // Each scanline is preceded by its filter type; 0 (none) keeps this simple
  // and costs little on the small images the library writes.
  const std::size_t row_bytes = width * channels;
  std::vector<std::uint8_t> scanlines;
  scanlines.reserve(height * (row_bytes + 1));
  for (std::size_t y = 0; y < height; ++y) {
    scanlines.push_back(0);
    const auto row = pixels.subspan(y * row_bytes, row_bytes);
    scanlines.insert(scanlines.end(), row.begin(), row.end());
  }
  uLongf compressed_size = ::compressBound(static_cast<uLong>(scanlines.size()));
  std::vector<std::uint8_t> compressed(compressed_size);
  if (::compress2(compressed.data(), &compressed_size, scanlines.data(), static_cast<uLong>(scanlines.size()),
                  Z_BEST_COMPRESSION) != Z_OK)
    throw file_error(path, "zlib could not compress the image");
  compressed.resize(compressed_size);

  std::vector<std::uint8_t> header;  // IHDR: size, bit depth 8, colour type, then 3 zero method bytes
  detail::append_big_endian(header, static_cast<std::uint32_t>(width));
  detail::append_big_endian(header, static_cast<std::uint32_t>(height));
  header.insert(header.end(), {8, static_cast<std::uint8_t>(format == pixel_format::grey ? 0 : 2), 0, 0, 0});

  std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  detail::append_png_chunk(png, "IHDR", header);
  detail::append_png_chunk(png, "IDAT", compressed);
  detail::append_png_chunk(png, "IEND", {});
  write_file_atomically(path, {std::as_bytes(std::span(png))});
}

}  // namespace typenet

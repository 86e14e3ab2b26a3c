#pragma once
// write_png: an 8-bit grey or RGB image, row-major, top row first, RGB
// interleaved, saved as a PNG.
//
//   std::vector<std::uint8_t> pixels(28 * 28);          // 0 black .. 255 white
//   typenet::write_png("digit.png", pixels, 28, 28);     // or pixel_format::rgb, 3 bytes a pixel
//
// Encoded by stb_image_write (Debian's libstb) into memory, then written
// atomically (atomic_write.hpp); errors are file_error naming the file.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace typenet {

enum class pixel_format : std::uint8_t { grey = 1, rgb = 3 };  // value: bytes per pixel

void write_png(const std::filesystem::path& path, std::span<const std::uint8_t> pixels, std::size_t width,
               std::size_t height, pixel_format format = pixel_format::grey);

}  // namespace typenet

// write_png: stb_image_write encodes into a buffer, which is then written
// atomically, so a failed write never leaves half a picture.
#include "typenet/io/png.hpp"

#include <climits>
#include <new>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "typenet/io/atomic_write.hpp"
#include "typenet/io/file_error.hpp"

namespace typenet {

void write_png(const std::filesystem::path& path, std::span<const std::uint8_t> pixels, std::size_t width,
               std::size_t height, pixel_format format) {
  const auto channels = static_cast<std::size_t>(format);
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  // stb_image_write counts bytes in int, and its compressed stream may be a little
  // larger than the filtered rows: a gigabyte leaves room for both.
  constexpr std::size_t most_bytes = INT_MAX / 2;
  if (width == 0 || height == 0 || width > most_bytes / channels || (width * channels + 1) > most_bytes / height)
    throw file_error(path, "cannot write a " + size + " PNG (from 1x1 up to 1 GB of pixels)");
  if (pixels.size() != width * height * channels)
    throw file_error(path, "pixel buffer holds " + std::to_string(pixels.size()) + " bytes, a " + size +
                               " image needs " + std::to_string(width * height * channels));

  // stb calls back with each piece; an exception must not unwind through its C code.
  struct encoded {
    std::vector<std::byte> bytes;
    bool out_of_memory = false;
  } png;
  const auto append = [](void* context, void* data, int size) {
    auto& out = *static_cast<encoded*>(context);
    const auto* begin = static_cast<const std::byte*>(data);
    try {
      out.bytes.insert(out.bytes.end(), begin, begin + size);
    } catch (const std::bad_alloc&) {
      out.out_of_memory = true;
    }
  };
  const int w = static_cast<int>(width), h = static_cast<int>(height), n = static_cast<int>(channels);
  if (stbi_write_png_to_func(append, &png, w, h, n, pixels.data(), w * n) == 0 || png.out_of_memory)
    throw file_error(path, "cannot encode the " + size + " image: out of memory");
  write_file_atomically(path, {png.bytes});
}

}  // namespace typenet

// read_image_file: stb_image decodes (and converts channels), stb_image_resize
// resamples; both are Debian's libstb. The file is read here, so that every
// failure names it and a directory or a missing file gets the same kind of error.
#include "typenet/io/image_file.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "typenet/io/file_error.hpp"

namespace typenet {

namespace {

std::string channels_text(int channels) {
  switch (channels) {
    case 1: return "grey";
    case 2: return "grey with alpha";
    case 3: return "RGB";
    default: return "RGBA";
  }
}

// An image larger than this is not a digit to classify but a mistake (or an attack
// on the decoder's memory): refused from its header, before decoding.
constexpr int max_side = 16384;

}  // namespace

image_file read_image_file(const std::filesystem::path& path, const dynamic_shape& input, bool invert) {
  const auto fail = [&](const std::string& problem) { throw file_error(path, problem); };
  if (input.channels != 1 && input.channels != 3)
    fail("the network takes " + std::to_string(input.channels) +
         " channels: an image file gives 1 (grey) or 3 (colour)");
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) fail(std::filesystem::exists(path, error) ? "not a regular file" : "no such file");
  const std::uintmax_t file_size = std::filesystem::file_size(path, error);
  if (error) fail("cannot read its size: " + error.message());
  if (file_size == 0) fail("empty file, not an image");
  if (file_size > static_cast<std::uintmax_t>(INT32_MAX)) fail("larger than 2 GB, not an image to classify");
  std::vector<unsigned char> bytes(file_size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(file_size))) fail("read error");
  const int size = static_cast<int>(bytes.size());

  int width = 0, height = 0, stored_channels = 0;
  if (stbi_info_from_memory(bytes.data(), size, &width, &height, &stored_channels) == 0)
    fail(std::string("not an image stb_image can read (") + stbi_failure_reason() + ")");
  if (width > max_side || height > max_side)
    fail(std::to_string(width) + "x" + std::to_string(height) + " pixels, more than " + std::to_string(max_side) +
         " on a side");
  const int channels = static_cast<int>(input.channels);
  const std::unique_ptr<unsigned char, void (*)(void*)> decoded(
      stbi_load_from_memory(bytes.data(), size, &width, &height, &stored_channels, channels), stbi_image_free);
  if (!decoded) fail(std::string("cannot decode the image (") + stbi_failure_reason() + ")");

  // Interleaved [row][column][channel] in [0, 1], resampled, then planar.
  const std::size_t w = static_cast<std::size_t>(width), h = static_cast<std::size_t>(height);
  std::vector<float> interleaved(w * h * input.channels);
  for (std::size_t i = 0; i < interleaved.size(); ++i) interleaved[i] = decoded.get()[i] / 255.0f;
  std::vector<std::string> converted;
  if (stored_channels != channels) converted.push_back("to " + channels_text(channels));
  if (w != input.width || h != input.height) {
    std::vector<float> resized(input.pixels() * input.channels);
    if (stbir_resize_float(interleaved.data(), width, height, 0, resized.data(), static_cast<int>(input.width),
                           static_cast<int>(input.height), 0, channels) == 0)
      fail("cannot resize the image");
    interleaved = std::move(resized);
    converted.push_back("resized to " + std::to_string(input.width) + "x" + std::to_string(input.height) +
                        (w * input.height != h * input.width ? " (aspect ratio not kept)" : ""));
  }
  if (invert) converted.push_back("inverted");

  image_file image;
  image.pixels.resize(input.size());
  for (std::size_t c = 0; c < input.channels; ++c)
    for (std::size_t p = 0; p < input.pixels(); ++p) {
      // The resampling filter may overshoot [0, 1] a little at sharp edges.
      const float v = std::clamp(interleaved[p * input.channels + c], 0.0f, 1.0f);
      image.pixels[c * input.pixels() + p] = invert ? 1.0f - v : v;
    }
  if (!converted.empty()) {
    image.conversion = std::to_string(w) + "x" + std::to_string(h) + " " + channels_text(stored_channels);
    for (const std::string& step : converted) image.conversion += (step.starts_with("to ") ? " " : ", ") + step;
  }
  return image;
}

}  // namespace typenet

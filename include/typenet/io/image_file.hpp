#pragma once
// read_image_file: an image file (PNG, JPEG, BMP, GIF, ... as stb_image reads
// them) converted to a network's input: its channels (grey from colour by
// luminance, colour from grey by copying), its height and width (resampled),
// pixels in [0, 1] laid out [channel][row][column]. It says what it converted,
// so that a prediction on a converted image is not mistaken for one on the
// image as it was.
//
//   typenet::image_file digit = typenet::read_image_file("seven.png", {1, 28, 28});
//   // digit.conversion: "640x480 RGB to grey, resized to 28x28 (aspect ratio not kept)"
#include <filesystem>
#include <string>
#include <vector>

#include "typenet/core/shape.hpp"

namespace typenet {

struct image_file {
  std::vector<float> pixels;  // input.size() values in [0, 1]
  std::string conversion;     // empty when the file already had the input's shape
};

// `invert`: 1 - pixel, for dark digits on a light background (MNIST's are light on
// dark). Throws file_error naming the file when it cannot be read or decoded, or when
// the input has neither 1 nor 3 channels.
image_file read_image_file(const std::filesystem::path& path, const dynamic_shape& input, bool invert = false);

}  // namespace typenet

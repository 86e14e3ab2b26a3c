#pragma once
// A labelled grid of small grey images, e.g. the validation digits a network
// gets wrong, each captioned with its true and predicted class:
//
//   // pixels: n images of 28x28 floats, normalised as the network saw them
//   typenet::write_labelled_grid("difficult.png", pixels, n, 28, 28, captions,   // captions[i] = "7→2"
//                                {.columns = 8, .scale = 3, .lo = -0.4242f, .hi = 2.8215f});
//
// Layout: images are scaled up by `scale` and placed left to right,
// `columns` to a row, each above its caption; cells are separated by 2*scale
// white pixels, also around the border. Values in [lo, hi] map linearly to
// black..white (clamped outside, NaN is black). The caption font is scaled
// by (scale + 1) / 2 and shrunk, down to 1, until the longest caption fits.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace typenet {

struct grid_options {
  std::size_t columns = 10;
  std::size_t scale = 3;  // each image pixel becomes scale x scale pixels
  float lo = 0.0f;        // drawn black
  float hi = 1.0f;        // drawn white
};

struct grey_image {
  std::size_t width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // row-major, top row first
};

// `images` holds n images of rows x cols values, row-major, one after another.
// Throws std::invalid_argument when the arguments do not describe a grid.
grey_image render_labelled_grid(std::span<const float> images, std::size_t n, std::size_t rows, std::size_t cols,
                                std::span<const std::string> captions, const grid_options& options = {});

// render_labelled_grid written as a grey PNG; any error is a file_error naming `path`.
void write_labelled_grid(const std::filesystem::path& path, std::span<const float> images, std::size_t n,
                         std::size_t rows, std::size_t cols, std::span<const std::string> captions,
                         const grid_options& options = {});

}  // namespace typenet

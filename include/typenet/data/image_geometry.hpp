#pragma once
// The geometry of one image at run time: `channels` planes of rows x cols
// floats, stored [channel][row][col]. A batch stores its images one after
// another (sample-major), so image i starts at i * size().
//
//   typenet::image_geometry mnist{1, 28, 28};
//   const float* third = batch + 2 * mnist.size();
#include <cstddef>

namespace typenet {

struct image_geometry {
  std::size_t channels = 1;
  std::size_t rows = 0;
  std::size_t cols = 0;

  constexpr std::size_t plane() const noexcept { return rows * cols; }
  constexpr std::size_t size() const noexcept { return channels * rows * cols; }
};

}  // namespace typenet

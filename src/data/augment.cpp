#include "typenet/data/augment.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "typenet/core/pack.hpp"
#include "typenet/core/random.hpp"

namespace typenet {

void check_augmentation(const augmentation& aug, dynamic_shape geometry) {
  const std::size_t size = std::min(geometry.height, geometry.width);
  const auto refuse = [&](const char* option, std::size_t value, const char* what) {
    throw std::invalid_argument(std::string(option) + " " + std::to_string(value) + ": " + what + " of " +
                                std::to_string(value) + " pixels or more leaves nothing of a " +
                                std::to_string(geometry.height) + "x" + std::to_string(geometry.width) +
                                " image (at most " + std::to_string(size - 1) + ")");
  };
  if (aug.translate_pixels >= size) refuse("--translate", aug.translate_pixels, "a shift");
  if (aug.crop_padding >= size) refuse("--crop-padding", aug.crop_padding, "a crop padding");
  if (!(aug.rotation_degrees >= 0 && aug.rotation_degrees <= 180))
    throw std::invalid_argument("--rotate " + std::to_string(aug.rotation_degrees) + ": an angle from 0 to 180 degrees");
}

drawn_augmentation draw_augmentation(const augmentation& aug, std::uint64_t key,
                                     std::size_t index) {
  random_sequence draws(random_bits(key, index));
  const auto symmetric = [&](std::size_t range) {
    return static_cast<std::ptrdiff_t>(draws.below(2 * range + 1)) -
           static_cast<std::ptrdiff_t>(range);
  };
  drawn_augmentation drawn;
  drawn.rotation_degrees = static_cast<float>(draws.uniform(-aug.rotation_degrees, aug.rotation_degrees));
  drawn.translate_x = symmetric(aug.translate_pixels);
  drawn.translate_y = symmetric(aug.translate_pixels);
  drawn.crop_x = symmetric(aug.crop_padding);
  drawn.crop_y = symmetric(aug.crop_padding);
  return drawn;
}

namespace {

// A drawn rotation of 0 leaves a shift, copied row by row. Output (x, y)
// reads source (x + crop_x - translate_x, y + crop_y - translate_y) where both
// that point and the crop's (x + crop_x, y + crop_y) lie in the frame.
void shift_image(const float* source, float* destination, dynamic_shape geometry,
                        const drawn_augmentation& drawn, float fill) {
  const auto rows = static_cast<std::ptrdiff_t>(geometry.height);
  const auto cols = static_cast<std::ptrdiff_t>(geometry.width);
  const std::ptrdiff_t dx = drawn.crop_x - drawn.translate_x, dy = drawn.crop_y - drawn.translate_y;
  const std::ptrdiff_t x_begin = std::clamp<std::ptrdiff_t>(std::max(-drawn.crop_x, -dx), 0, cols);
  const std::ptrdiff_t x_end = std::clamp<std::ptrdiff_t>(std::min(cols - drawn.crop_x, cols - dx), x_begin, cols);
  const std::ptrdiff_t y_begin = std::clamp<std::ptrdiff_t>(std::max(-drawn.crop_y, -dy), 0, rows);
  const std::ptrdiff_t y_end = std::clamp<std::ptrdiff_t>(std::min(rows - drawn.crop_y, rows - dy), y_begin, rows);
  for (std::size_t c = 0; c < geometry.channels; ++c) {
    const float* in = source + c * geometry.pixels();
    float* out = destination + c * geometry.pixels();
    for (std::ptrdiff_t y = 0; y < rows; ++y, out += cols) {
      if (y < y_begin || y >= y_end) {
        std::fill_n(out, cols, fill);
        continue;
      }
      std::fill(out, out + x_begin, fill);
      std::copy(in + (y + dy) * cols + x_begin + dx, in + (y + dy) * cols + x_end + dx, out + x_begin);
      std::fill(out + x_end, out + cols, fill);
    }
  }
}

// Output pixels [x_begin, x_end) of one row, whose source points are
// (row_x + cos (x + shift_x), row_y + sin (x + shift_x)). `taps` is the source
// framed by one pixel of fill, so clamped taps are always valid and those of
// points just outside the image read fill; the loop has no branches and
// vectorises (with __restrict, GCC can gather).
void bilinear_row(const float* __restrict taps, int padded_cols, int rows, int cols,
                         float* __restrict out, int x_begin, int x_end, float row_x, float row_y,
                         float cosine, float sine, float shift_x, float fill) {
  for (int x = x_begin; x < x_end; ++x) {
    const float relative_x = static_cast<float>(x) + shift_x;
    const float source_x = row_x + cosine * relative_x;
    const float source_y = row_y + sine * relative_x;
    // Floor as truncation corrected below zero: std::floor keeps GCC from vectorising.
    int left = static_cast<int>(source_x), top = static_cast<int>(source_y);
    left -= static_cast<float>(left) > source_x;
    top -= static_cast<float>(top) > source_y;
    const float wx = source_x - static_cast<float>(left);
    const float wy = source_y - static_cast<float>(top);
    const int tap = (std::clamp(top, -1, rows - 1) + 1) * padded_cols + std::clamp(left, -1, cols - 1) + 1;
    // (1 - w) a + w b rather than a + w (b - a): exact at w = 0 and w = 1.
    const float upper = (1 - wx) * taps[tap] + wx * taps[tap + 1];
    const float lower = (1 - wx) * taps[tap + padded_cols] + wx * taps[tap + padded_cols + 1];
    out[x] = (1 - wy) * upper + wy * lower;
    // Outside [-1, cols) x [-1, rows) all four taps are outside the image. A
    // second store, which GCC vectorises, rather than a select, which it does not.
    if ((left < -1) | (left >= cols) | (top < -1) | (top >= rows)) out[x] = fill;
  }
}

// Any other angle: bilinear sampling of the inverse map from an output pixel
// (x, y) to its source point,
//   (u, v) = (x + crop_x, y + crop_y), fill unless inside the frame;
//   source = centre + rotate(-angle)((u, v) - translate - centre), fill outside [-1, cols) x [-1, rows).
// `scratch` holds the source framed by one pixel of fill, so that taps of
// points just outside the image read fill, and taps clamped to the frame are
// always valid: the inner loop has no branches and vectorises. After the frame,
// a row computed in whole registers, the pixels past its end (from clamped taps)
// dropped: the scalar remainder this replaced (MNIST's last 4 of 28 columns)
// rounded differently from the registers' lanes, and took 12% of an image's time.
void rotate_image(const float* source, float* destination, dynamic_shape geometry,
                         const drawn_augmentation& drawn, float fill, std::vector<float>& scratch) {
  const auto rows = static_cast<int>(geometry.height);
  const auto cols = static_cast<int>(geometry.width);
  const int padded_cols = cols + 2;
  const std::size_t plane = geometry.pixels();
  // Trigonometry in double keeps 90-degree turns within 1e-16 of exact.
  const double radians = drawn.rotation_degrees * std::numbers::pi / 180.0;
  const auto cosine = static_cast<float>(std::cos(radians));
  const auto sine = static_cast<float>(std::sin(radians));
  const float centre_x = static_cast<float>(cols - 1) / 2;
  const float centre_y = static_cast<float>(rows - 1) / 2;
  const float shift_x = static_cast<float>(drawn.crop_x - drawn.translate_x) - centre_x;
  const auto crop_x = static_cast<int>(drawn.crop_x), crop_y = static_cast<int>(drawn.crop_y);
  const int x_begin = std::clamp(-crop_x, 0, cols), x_end = std::clamp(cols - crop_x, x_begin, cols);

  constexpr int lanes = static_cast<int>(default_lanes<float>);  // a register of floats
  const auto frame = static_cast<std::size_t>((rows + 2) * padded_cols);
  scratch.assign(frame + static_cast<std::size_t>(cols + lanes), fill);
  float* row = scratch.data() + frame;
  for (std::size_t c = 0; c < geometry.channels; ++c) {
    const float* in = source + c * plane;
    for (int y = 0; y < rows; ++y)
      std::copy_n(in + y * cols, cols, scratch.begin() + (y + 1) * padded_cols + 1);
    const float* taps = scratch.data();  // taps[0] is source point (-1, -1)
    float* out = destination + c * plane;
    for (int y = 0; y < rows; ++y, out += cols) {
      const int v = y + crop_y;
      if (v < 0 || v >= rows) {
        std::fill_n(out, cols, fill);
        continue;
      }
      std::fill(out, out + x_begin, fill);
      std::fill(out + x_end, out + cols, fill);
      const float relative_y = static_cast<float>(v - drawn.translate_y) - centre_y;
      const float row_x = centre_x - sine * relative_y;
      const float row_y = centre_y + cosine * relative_y;
      const int whole_registers_end = x_begin + (x_end - x_begin + lanes - 1) / lanes * lanes;
      bilinear_row(taps, padded_cols, rows, cols, row, x_begin, whole_registers_end, row_x, row_y, cosine, sine,
                   shift_x, fill);
      std::copy(row + x_begin, row + x_end, out + x_begin);
    }
  }
}

void augment_image(const float* source, float* destination, dynamic_shape geometry,
                          const drawn_augmentation& drawn, float fill, std::vector<float>& scratch) {
  if (drawn.rotation_degrees == 0)
    shift_image(source, destination, geometry, drawn, fill);
  else
    rotate_image(source, destination, geometry, drawn, fill, scratch);
}

}  // namespace

void augment_image(const float* source, float* destination, dynamic_shape geometry,
                   const drawn_augmentation& drawn, float fill) {
  std::vector<float> scratch;
  augment_image(source, destination, geometry, drawn, fill, scratch);
}

void augment_batch(const std::uint8_t* source_images, const pixel_normalisation& normalised,
                   std::span<const std::size_t> indices, float* destination, dynamic_shape geometry,
                   const augmentation& aug, std::uint64_t key) {
  check_augmentation(aug, geometry);
  const std::size_t size = geometry.size();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, indices.size(), 64),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      std::vector<float> source(size), scratch;
                      for (std::size_t i = range.begin(); i != range.end(); ++i) {
                        // Images drawn at random from a set larger than the caches: the
                        // next one's bytes are fetched, a cache line at a time, while this
                        // one is transformed (8% of an image's time).
                        if (i + 1 != range.end())
                          for (std::size_t byte = 0; byte < size; byte += 64)
                            __builtin_prefetch(source_images + indices[i + 1] * size + byte);
                        normalised.convert(std::span(source_images + indices[i] * size, size), source.data());
                        augment_image(source.data(), destination + i * size, geometry,
                                      draw_augmentation(aug, key, indices[i]), aug.fill, scratch);
                      }
                    });
}

void center_crop(const float* source, std::size_t count, dynamic_shape geometry,
                 float* destination, std::size_t rows, std::size_t cols) {
  if (rows > geometry.height || cols > geometry.width)
    throw std::invalid_argument("center_crop: the crop is larger than the image");
  const auto offset = [](std::size_t excess) {
    const std::size_t half = excess / 2;
    return excess % 2 == 1 && half % 2 == 1 ? half + 1 : half;
  };
  const std::size_t top = offset(geometry.height - rows), left = offset(geometry.width - cols);
  for (std::size_t plane = 0; plane < count * geometry.channels; ++plane)
    for (std::size_t y = 0; y < rows; ++y)
      std::copy_n(source + plane * geometry.pixels() + (top + y) * geometry.width + left, cols,
                  destination + (plane * rows + y) * cols);
}

}  // namespace typenet

#include "typenet/data/pixel_normalisation.hpp"

#include <algorithm>
#include <stdexcept>

namespace typenet {

namespace {

void require_positive(double std) {
  if (!(std > 0)) throw std::invalid_argument("normalise: std must be positive");
}

// In float, as a float pixel was normalised before images were kept as bytes.
float normalised(float pixel, float mean, float std) { return (pixel - mean) / std; }

}  // namespace

pixel_normalisation::pixel_normalisation(pixel_moments moments) {
  require_positive(moments.std);
  const auto m = static_cast<float>(moments.mean), s = static_cast<float>(moments.std);
  for (std::size_t byte = 0; byte < table_.size(); ++byte)
    table_[byte] = normalised(static_cast<float>(byte) / 255.0f, m, s);
}

void pixel_normalisation::convert(std::span<const std::uint8_t> bytes, float* out) const {
  std::ranges::transform(bytes, out, [&](std::uint8_t byte) { return table_[byte]; });
}

void normalise(std::span<float> pixels, double mean, double std) {
  require_positive(std);
  const auto m = static_cast<float>(mean), s = static_cast<float>(std);
  for (float& pixel : pixels) pixel = normalised(pixel, m, s);
}

}  // namespace typenet

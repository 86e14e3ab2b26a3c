#pragma once
// pixel_normalisation: the float a network sees for each byte of an image, as
// torchvision's ToTensor then Normalize(mean, std) give it:
//   (byte / 255 - mean) / std, in float, one table entry per byte value.
// Data sets keep their images as bytes (a quarter of floats' memory) and a
// batch, an evaluation chunk or a picture reads its floats from the table.
//
//   const typenet::pixel_normalisation normalised(typenet::pixel_statistics(train));   // 0.1307, 0.3081 for MNIST
//   float black = normalised(0);                                  // -mean / std
//   normalised.convert(train.image_bytes(i), batch.data());       // image i's floats
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace typenet {

// Mean and (population) standard deviation of pixels in [0, 1] (a byte / 255).
struct pixel_moments {
  double mean;
  double std;
};

class pixel_normalisation {
 public:
  // Refuses a std that is not positive.
  explicit pixel_normalisation(pixel_moments moments);

  float operator()(std::uint8_t byte) const { return table_[byte]; }
  // out[i] = (*this)(bytes[i]); out holds bytes.size() floats.
  void convert(std::span<const std::uint8_t> bytes, float* out) const;

 private:
  std::array<float, 256> table_;
};

// pixel = (pixel - mean) / std, in place, for pixels already in [0, 1] as floats
// (an image file resampled to the network's input); a black pixel becomes -mean / std.
void normalise(std::span<float> pixels, double mean, double std);

}  // namespace typenet

#pragma once
// The shape of one sample as it flows through a network: channels x height x width.
// A plain vector of N features is shape<N> (height and width 1).
//
//   using image = typenet::input<1, 28, 28>;
//   static_assert(image::size == 784);
#include <cstddef>

namespace typenet {

template <std::size_t Channels, std::size_t Height = 1, std::size_t Width = 1>
struct shape {
  static constexpr std::size_t channels = Channels;
  static constexpr std::size_t height = Height;
  static constexpr std::size_t width = Width;
  static constexpr std::size_t pixels = Height * Width;
  static constexpr std::size_t size = Channels * Height * Width;
  // A vector of features rather than a map (what dense layers and softmax take).
  static constexpr bool flat = Height == 1 && Width == 1;
};

// The first element of a network: the shape of one input sample.
template <std::size_t Channels, std::size_t Height = 1, std::size_t Width = 1>
using input = shape<Channels, Height, Width>;

}  // namespace typenet

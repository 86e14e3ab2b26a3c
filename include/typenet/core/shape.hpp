#pragma once
// The shape of one sample as it flows through a network: channels x height x width.
// A plain vector of N features is shape<N> (height and width 1). shape<C, H, W> holds
// the extents in its type; dynamic_shape holds the same extents as values, for what
// is known only at run time (a data set's images) or crosses into compiled code
// (the run library), and shape<C, H, W>::value converts.
//
//   using image = typenet::input<1, 28, 28>;
//   static_assert(image::size == 784);
//   constexpr typenet::dynamic_shape mnist = image::value;   // {1, 28, 28}
//   static_assert(mnist.pixels() == 784 && mnist == typenet::dynamic_shape{1, 28, 28});
#include <cstddef>
#include <string>

namespace typenet {

struct dynamic_shape {
  std::size_t channels = 1;
  std::size_t height = 1;
  std::size_t width = 1;

  constexpr std::size_t pixels() const noexcept { return height * width; }
  constexpr std::size_t size() const noexcept { return channels * height * width; }
  constexpr bool flat() const noexcept { return height == 1 && width == 1; }
  friend constexpr bool operator==(const dynamic_shape&, const dynamic_shape&) = default;

  // "16x26x26", or "10" for a flat shape.
  std::string text() const {
    return flat() ? std::to_string(channels)
                  : std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
  }
};

template <std::size_t Channels, std::size_t Height = 1, std::size_t Width = 1>
struct shape {
  static constexpr std::size_t channels = Channels;
  static constexpr std::size_t height = Height;
  static constexpr std::size_t width = Width;
  static constexpr std::size_t pixels = Height * Width;
  static constexpr std::size_t size = Channels * Height * Width;
  // A vector of features rather than a map (what dense layers and softmax take).
  static constexpr bool flat = Height == 1 && Width == 1;
  static constexpr dynamic_shape value{Channels, Height, Width};
};

// The first element of a network: the shape of one input sample.
template <std::size_t Channels, std::size_t Height = 1, std::size_t Width = 1>
using input = shape<Channels, Height, Width>;

}  // namespace typenet

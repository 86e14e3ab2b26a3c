#pragma once
// N things (output channels, registers of pixels) cut into tiles of a fixed size
// for a kernel whose tile size is a template argument: the last tile holds the
// rest, so a kernel is instantiated for at most two sizes.
//
//   tiling<10, 4>::each([&]<std::size_t Q>(std::size_t first) { block<Q>(first); });  // 4, 4, 2
//   equal_tiling<10, 8>::each(...);                                                     // 5, 5
#include <cstddef>

namespace typenet::detail {

template <std::size_t N, std::size_t Size>
struct tiling {
  static constexpr std::size_t size = Size, count = (N + Size - 1) / Size;

  // Tile t: f.template operator()<Q>(first), Q its size.
  template <class F>
  static void at(std::size_t t, F&& f) {
    if constexpr (N % Size != 0)
      if (t + 1 == count) return f.template operator()<N % Size>(t * Size);
    f.template operator()<Size>(t * Size);
  }

  template <class F>
  static void each(F&& f) {
    for (std::size_t t = 0; t < count; ++t) at(t, f);
  }
};

// N in the fewest tiles of at most Max, as equal as they can be: 10 by 8 is 5 + 5,
// not 8 + 2, so that no tile is too small to keep its multiply-adds busy.
template <std::size_t N, std::size_t Max>
using equal_tiling = tiling<N, (N + (N + Max - 1) / Max - 1) / ((N + Max - 1) / Max)>;

}  // namespace typenet::detail

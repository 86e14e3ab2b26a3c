#pragma once
// flatten: a [C][H][W] map becomes a vector of C*H*W features, in PyTorch's
// order (nn.Flatten), for a dense layer to follow.
//
//   using net = typenet::network<typenet::input<16, 4, 4>, typenet::flatten, typenet::dense<10>>;
//   static_assert(net::parameter_count == 256 * 10);
#include <algorithm>
#include <string_view>

#include "typenet/net/layer.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

struct flatten {
  static constexpr std::string_view name = "flatten";
  static constexpr layer_role role = layer_role::reshape;
  template <class In>
  struct bind : layer_defaults<In> {
    using output_shape = shape<In::size>;
    // For the receptive field the dense layer after it mixes every position: a kernel over the map.
    static constexpr std::size_t kernel = In::height, stride = In::height;
    // A new name for the same numbers: in place it costs nothing.
    static constexpr bool in_place = true, gradient_in_place = true;
    static constexpr bool backward_reads_output = false;
    template <class A> static void forward(const A& a) {
      if (a.out != a.in) std::copy(a.in, a.in + In::size, a.out);
    }
    template <class A> static void backward(const A& a) {
      if (a.d_in && a.d_in != a.d_out) std::copy(a.d_out, a.d_out + In::size, a.d_in);
    }
  };
};

}  // namespace typenet

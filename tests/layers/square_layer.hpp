#pragma once
// The layer contract's example (layer.hpp), verbatim: a layer of a user's own,
// which the layer tests check against the contract and ONNX export must refuse.
#include <cstddef>
#include <string_view>

#include <typenet/net/layer.hpp>

namespace tests {

struct square {                                   // y = x * x
  static constexpr std::string_view name = "square";
  static constexpr typenet::layer_role role = typenet::layer_role::activation;
  template <class In> struct bind : typenet::layer_defaults<In> {
    using output_shape = In;
    template <class A> static void forward(const A& a) {
      for (std::size_t i = 0; i < In::size; ++i) a.out[i] = a.in[i] * a.in[i];
    }
    template <class A> static void backward(const A& a) {
      if (a.d_in)
        for (std::size_t i = 0; i < In::size; ++i) a.d_in[i] = 2 * a.in[i] * a.d_out[i];
    }
  };
};

}  // namespace tests

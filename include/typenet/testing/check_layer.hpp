#pragma once
// check_layer<Layer, Shape>(): what every layer must pass, in the spirit of
// dlib's test_layer. It binds Layer to Shape, checks the layer contract
// (layer.hpp) and the facts it can cross-check, and compares the layer's
// parameter gradients and its input gradient with central differences in
// double, over a batch with a partial block (so padding lanes count too).
//
//   const auto r = typenet::testing::check_layer<typenet::conv<3, 3>, typenet::shape<2, 6, 6>>();
//   assert(r.checked == r.expected && r.max_relative_error < 1e-6);
//
// The input gradient is seen through a probe in front of the layer,
// input_scale (y = w * x, one weight per element): the probe's weight gradient
// is x times the layer's input gradient, so checking it checks that.
#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "typenet/net/layer.hpp"
#include "typenet/net/network.hpp"
#include "typenet/core/pack.hpp"
#include "typenet/testing/gradient_check.hpp"

namespace typenet::testing {

// The probe: an element-wise scale whose weights start at 1.
struct input_scale {
  static constexpr std::string_view name = "input_scale";
  static constexpr layer_role role = layer_role::linear;
  template <class In>
  struct bind : layer_defaults<In> {
    using output_shape = In;
    static constexpr std::size_t parameter_count = In::size, multiply_adds = In::size;
    static constexpr bool backward_reads_output = false;
    static constexpr std::array<tensor_info, 1> parameter_tensors{{{"weight", 1, {In::size}}}};
    template <class T>
    static void initialize(std::span<T> params, std::span<T>, random_sequence&) {
      for (T& w : params) w = T(1);
    }
    template <class A> static void forward(const A& a) {
      for (std::size_t i = 0; i < In::size; ++i) a.out[i] = a.in[i] * a.params[i];
    }
    template <class A> static void backward(const A& a) {
      for (std::size_t i = 0; i < In::size; ++i) {
        a.grads[i] += lane_sum(a.in[i] * a.d_out[i]);
        if (a.d_in) a.d_in[i] = a.d_out[i] * a.params[i];
      }
    }
  };
};

struct layer_report : gradient_report {
  std::size_t expected = 0;  // the probe's weights and the layer's parameters
};

template <class Layer, class Shape, class Loss = mse_loss>
layer_report check_layer(std::size_t count = 11) {
  static_assert(layer_definition<Layer>, "check_layer: Layer needs a name and a role (layer.hpp)");
  using bound = typename Layer::template bind<Shape>;
  static_assert(bound_layer<bound>, "check_layer: the bound layer breaks the layer contract (layer.hpp)");
  static_assert(std::is_same_v<typename bound::problem, no_problem>, "check_layer: Layer does not fit Shape");
  constexpr auto tensors_size = [](std::span<const tensor_info> tensors) {
    std::size_t n = 0;
    for (const tensor_info& t : tensors) n += t.size();
    return n;
  };
  static_assert(tensors_size(bound::parameter_tensors) == bound::parameter_count,
                "check_layer: parameter_tensors do not add up to parameter_count");
  static_assert(tensors_size(bound::buffer_tensors) == bound::buffer_count,
                "check_layer: buffer_tensors do not add up to buffer_count");
  using net = network<Shape, input_scale, Layer>;
  layer_report r{check_gradients<net, Loss>(count)};
  r.expected = net::parameter_count;
  return r;
}

}  // namespace typenet::testing

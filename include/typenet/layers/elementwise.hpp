#pragma once
// Activation functions applied to every element: relu, sigmoid, tanh
// (PyTorch nn.ReLU, nn.Sigmoid, nn.Tanh). Each is one function and its
// derivative written in terms of the output, which backward reads.
//
//   using net = typenet::network<typenet::input<2>, typenet::dense<2>, typenet::sigmoid>;
#include <cmath>
#include <string_view>

#include "typenet/net/layer.hpp"
#include "typenet/core/pack.hpp"
#include "typenet/core/vector_math.hpp"

namespace typenet {

namespace detail {
template <class Function>
struct elementwise {
  static constexpr std::string_view name = Function::name;
  static constexpr layer_role role = layer_role::activation;
  template <class In>
  struct bind : layer_defaults<In> {
    using output_shape = In;
    static constexpr bool in_place = true;  // its derivative comes from the output
    template <class A>
    static auto forward_at(const A&, std::size_t) {
      return [](std::size_t, auto x) { return Function::value(x); };
    }
    template <class X, class A>
    static auto evaluate_over_channels(const A&, std::size_t) {
      return [](X x) { return Function::value(x); };
    }
    template <class A>
    static auto backward_at(const A&, std::size_t) {
      return [](std::size_t, auto y, auto g) { return g * Function::derivative(y); };
    }
  };
};

struct relu_function {
  static constexpr std::string_view name = "relu";
  template <class V> static V value(V x) { return x > 0 ? x : V{}; }
  template <class V> static V derivative(V y) { return y > 0 ? V{} + 1 : V{}; }
};

struct sigmoid_function {
  static constexpr std::string_view name = "sigmoid";
  template <class V> static V value(V x) {
    return map_lanes(x, [](auto v) { return 1 / (1 + std::exp(-v)); });
  }
  template <class V> static V derivative(V y) { return y * (1 - y); }
};

struct tanh_function {
  static constexpr std::string_view name = "tanh";
  template <class V> static V value(V x) {
    return tanh_of(x);
  }
  template <class V> static V derivative(V y) { return 1 - y * y; }
};
}  // namespace detail

struct relu : detail::elementwise<detail::relu_function> {};
struct sigmoid : detail::elementwise<detail::sigmoid_function> {};
struct tanh : detail::elementwise<detail::tanh_function> {};

}  // namespace typenet

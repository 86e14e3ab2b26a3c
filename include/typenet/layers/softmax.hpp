#pragma once
// softmax and log_softmax over a flat vector (PyTorch nn.Softmax(dim=1),
// nn.LogSoftmax(dim=1)), computed stably by subtracting the maximum.
//
//   using net = typenet::network<typenet::input<16>, typenet::dense<10>, typenet::log_softmax>;
#include <cmath>
#include <string_view>

#include "typenet/net/layer.hpp"
#include "typenet/core/pack.hpp"

namespace typenet {

namespace detail {
template <bool Log>
struct softmax_layer {
  static constexpr std::string_view name = Log ? "log_softmax" : "softmax";
  static constexpr layer_role role = layer_role::output;
  template <class In>
  struct bind : layer_defaults<In> {
    using output_shape = In;
    using problem = problem_if<!In::flat, needs_flat_input_add_flatten_or_global_avg_pool,
                               input_channels<In::channels>, input_height<In::height>, input_width<In::width>>;
    static constexpr std::size_t n = In::size;

    template <class A>
    static void forward(const A& a) {
      auto top = a.in[0];
      for (std::size_t i = 1; i < n; ++i) top = a.in[i] > top ? a.in[i] : top;
      auto total = top - top;
      for (std::size_t i = 0; i < n; ++i) {
        a.out[i] = map_lanes(a.in[i] - top, [](auto v) { return std::exp(v); });
        total += a.out[i];
      }
      if constexpr (Log) {
        const auto log_total = map_lanes(total, [](auto v) { return std::log(v); });
        for (std::size_t i = 0; i < n; ++i) a.out[i] = a.in[i] - top - log_total;
      } else {
        for (std::size_t i = 0; i < n; ++i) a.out[i] /= total;
      }
    }

    template <class A>
    static void backward(const A& a) {
      if (!a.d_in) return;
      if constexpr (Log) {  // d_in = d_out - softmax * sum(d_out)
        auto total = a.d_out[0];
        for (std::size_t i = 1; i < n; ++i) total += a.d_out[i];
        for (std::size_t i = 0; i < n; ++i)
          a.d_in[i] = a.d_out[i] - map_lanes(a.out[i], [](auto v) { return std::exp(v); }) * total;
      } else {  // d_in = y * (d_out - sum(y * d_out))
        auto dot = a.out[0] * a.d_out[0];
        for (std::size_t i = 1; i < n; ++i) dot += a.out[i] * a.d_out[i];
        for (std::size_t i = 0; i < n; ++i) a.d_in[i] = a.out[i] * (a.d_out[i] - dot);
      }
    }
  };
};
}  // namespace detail

struct softmax : detail::softmax_layer<false> {};
struct log_softmax : detail::softmax_layer<true> {};

}  // namespace typenet

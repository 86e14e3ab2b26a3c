#pragma once
// dense<Outputs, Bias = bias::off>: a fully connected layer on a flat input
// (PyTorch: nn.Linear(in, Outputs, bias=False)). It is a 1x1 convolution of a
// 1x1 map, so it shares conv's kernels; feeding it a map is a compile error
// that asks for flatten or global_avg_pool.
//
//   using net = typenet::network<typenet::input<16>, typenet::dense<10>>;
//   static_assert(net::parameter_count == 160 && net::output_size == 10);
#include "typenet/layers/conv.hpp"

namespace typenet {

template <std::size_t Outputs, bias Bias = bias::off>
struct dense {
  static constexpr std::string_view name = "dense";
  static constexpr layer_role role = layer_role::linear;

  template <class In>
  struct bind : conv<Outputs, 1, 1, 0, Bias>::template bind<shape<In::size>> {
    using input_shape = In;
    using problem = problem_if<!In::flat, needs_flat_input_add_flatten_or_global_avg_pool, input_channels<In::channels>,
                               input_height<In::height>, input_width<In::width>>;
    using output_shape = shape<Outputs>;
    static constexpr bool has_bias = Bias == bias::on;
    static constexpr std::array<tensor_info, has_bias ? 2 : 1> parameter_tensors = [] {
      std::array<tensor_info, has_bias ? 2 : 1> t{};
      t[0] = {"weight", 2, {Outputs, In::size}};
      if constexpr (has_bias) t[1] = {"bias", 1, {Outputs}};
      return t;
    }();
  };
};

}  // namespace typenet

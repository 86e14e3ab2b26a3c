#pragma once
// depthwise_conv<Kernel, Stride = 1, Padding = 0>: a square convolution of each
// channel by its own kernel, without mixing channels (PyTorch: nn.Conv2d(C, C,
// Kernel, Stride, Padding, groups=C, bias=False)). Followed by a 1x1 conv it makes
// a separable convolution: C * (Kernel^2 + Out) weights instead of C * Kernel^2 * Out.
//
//   using net = typenet::network<typenet::input<8, 12, 12>, typenet::depthwise_conv<3>>;
//   static_assert(std::is_same_v<net::output_shape, typenet::shape<8, 10, 10>>);
//   static_assert(net::parameter_count == 8 * 3 * 3);
#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "typenet/core/shape.hpp"
#include "typenet/layers/conv.hpp"
#include "typenet/net/layer.hpp"

namespace typenet {

template <std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0>
struct depthwise_conv {
  static constexpr std::string_view name = "depthwise_conv";
  static constexpr layer_role role = layer_role::linear;

  template <class In>
  struct bind : layer_defaults<In> {
    // Each channel is a one-channel conv of its own: its kernels, facts and checks.
    using channel = typename conv<1, Kernel, Stride, Padding>::template bind<shape<1, In::height, In::width>>;
    static constexpr std::size_t c = In::channels, k = channel::kernel;
    static constexpr std::size_t in_size = In::height * In::width;
    static constexpr std::size_t out_size = channel::output_shape::size;

    using problem = typename channel::problem;
    using output_shape = shape<c, channel::hout, channel::wout>;
    static constexpr std::size_t parameter_count = c * channel::parameter_count;
    static constexpr std::size_t kernel = k, stride = channel::stride, padding = Padding;
    static constexpr std::size_t multiply_adds = c * channel::multiply_adds;
    static constexpr bool backward_reads_output = false;
    static constexpr std::size_t scratch_size = channel::scratch_size;  // the channels take turns
    static constexpr std::size_t one_sample_scratch_size = channel::one_sample_scratch_size;
    static constexpr std::array<tensor_info, 1> parameter_tensors{tensor_info{"weight", 4, {c, 1, k, k}}};
    static constexpr std::size_t state_size = c * channel::state_size;

    template <class T>
    static void prepare(std::span<const T> params, std::span<T> state) {
      for (std::size_t ch = 0; ch < c; ++ch)
        channel::prepare(params.subspan(ch * channel::parameter_count, channel::parameter_count),
                         state.subspan(ch * channel::state_size, channel::state_size));
    }

    // PyTorch's bound for groups = C is a one-channel conv's: U(-1/K, 1/K).
    template <class T>
    static void initialize(std::span<T> params, std::span<T> buffers, random_sequence& rng) {
      channel::initialize(params, buffers, rng);
    }

    template <class A>
    static void forward(const A& a) {
      for (std::size_t ch = 0; ch < c; ++ch) channel::forward(of_channel(a, ch));
    }

    template <class A>
    static void backward(const A& a) {
      for (std::size_t ch = 0; ch < c; ++ch) channel::backward(of_channel(a, ch));
    }

   private:
    // The block's arguments narrowed to one channel: its input and output maps, its kernel.
    template <class A>
    static A of_channel(A a, std::size_t ch) {
      const auto advance = [](auto*& p, std::size_t n) { if (p) p += n; };  // null stays null: nothing to give
      advance(a.params, ch * channel::parameter_count);
      advance(a.grads, ch * channel::parameter_count);
      advance(a.state, ch * channel::state_size);
      advance(a.in, ch * in_size);
      advance(a.out, ch * out_size);
      advance(a.d_out, ch * out_size);
      advance(a.d_in, ch * in_size);
      return a;
    }
  };
};

}  // namespace typenet

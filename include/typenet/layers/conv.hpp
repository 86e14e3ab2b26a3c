#pragma once
// conv<OutChannels, Kernel, Stride = 1, Padding = 0, Bias = bias::off>: a square
// 2-D convolution (PyTorch: nn.Conv2d(in, OutChannels, Kernel, Stride, Padding,
// bias=False)). The input channels come from the shape that reaches it; a 1x1
// "transition" convolution is conv<N, 1>.
//
//   using net = typenet::network<typenet::input<1, 28, 28>, typenet::conv<16, 3>>;
//   static_assert(std::is_same_v<net::output_shape, typenet::shape<16, 26, 26>>);
//   static_assert(net::parameter_count == 16 * 1 * 3 * 3);
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "typenet/kernels/correlate.hpp"
#include "typenet/net/layer.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

template <std::size_t OutChannels, std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0,
          bias Bias = bias::off>
struct conv {
  static constexpr std::string_view name = "conv";
  static constexpr layer_role role = layer_role::linear;

  template <class In>
  struct bind : layer_defaults<In> {
    static constexpr std::size_t cin = In::channels, cout = OutChannels;
    static constexpr std::size_t hp = In::height + 2 * Padding, wp = In::width + 2 * Padding;

    using problem = first_problem<
        problem_if<Kernel == 0, zero_kernel, kernel_size<Kernel>>, problem_if<Stride == 0, zero_stride, stride_is<Stride>>,
        problem_if<(Kernel > hp || Kernel > wp), kernel_larger_than_input, input_height<In::height>,
                   input_width<In::width>, padding_is<Padding>, kernel_size<Kernel>>>;
    static constexpr bool fits = std::is_same_v<problem, no_problem>;

    // After an error the shapes below stay small and valid, so that only the first error shows.
    static constexpr std::size_t k = fits ? Kernel : 1, s = fits ? Stride : 1;
    using correlation = detail::correlation<cin, fits ? hp : 1, fits ? wp : 1, cout, k, s>;
    static constexpr std::size_t hout = correlation::hout, wout = correlation::wout;
    using output_shape = shape<cout, hout, wout>;

    static constexpr std::size_t weight_count = cout * cin * k * k;
    static constexpr bool has_bias = Bias == bias::on;
    static constexpr std::size_t parameter_count = weight_count + (has_bias ? cout : 0);
    static constexpr std::size_t kernel = k, stride = s, padding = Padding;
    static constexpr std::size_t multiply_adds = weight_count * hout * wout;
    static constexpr bool backward_reads_output = false;
    static constexpr std::array<tensor_info, has_bias ? 2 : 1> parameter_tensors = [] {
      std::array<tensor_info, has_bias ? 2 : 1> t{};
      t[0] = {"weight", 4, {cout, cin, k, k}};
      if constexpr (has_bias) t[1] = {"bias", 1, {cout}};
      return t;
    }();

    // Input gradient = correlation of the output gradient, bordered by k - 1 zeros
    // (read as if, for stride 1; spread into a copy, for larger strides), with the
    // flipped, transposed kernel: the forward kernel again.
    static constexpr bool embeds_input = Padding > 0;
    static constexpr bool spreads_gradient = s > 1;
    static constexpr std::size_t hd = (hout - 1) * s + 1 + 2 * (k - 1), wd = (wout - 1) * s + 1 + 2 * (k - 1);
    using input_correlation = std::conditional_t<spreads_gradient, detail::correlation<cout, hd, wd, cin, k, 1>,
                                                 detail::correlation<cout, hout, wout, cin, k, 1, k - 1>>;
    static constexpr std::size_t hc = input_correlation::hout, wc = input_correlation::wout;
    static constexpr bool crops_gradient = Padding > 0 || hc != In::height || wc != In::width;

    // Scratch: [padded input][spread output gradient][padded input gradient]; a block
    // of one sample adds its correlations' own after them.
    static constexpr std::size_t padded_input_at = 0;
    static constexpr std::size_t spread_gradient_at = padded_input_at + (embeds_input ? cin * hp * wp : 0);
    static constexpr std::size_t padded_gradient_at = spread_gradient_at + (spreads_gradient ? cout * hd * wd : 0);
    static constexpr std::size_t correlation_scratch_at = padded_gradient_at + (crops_gradient ? cin * hc * wc : 0);
    static constexpr std::size_t scratch_size = correlation_scratch_at + correlation::weight_gradient_scratch;
    static constexpr std::size_t one_sample_scratch_size =
        correlation_scratch_at + std::max(correlation::one_sample_scratch, input_correlation::one_sample_scratch);

    // State, prepared from the weights once per pass, before the blocks run: the
    // weights it was prepared from (an evaluation that repeats with the same weights
    // prepares nothing), the flipped kernel, and each correlation's weights as it
    // takes them (Winograd's, kernels/winograd.hpp).
    static constexpr std::size_t flipped_at = weight_count;
    static constexpr std::size_t forward_weights_at = flipped_at + weight_count;
    static constexpr std::size_t input_weights_at = forward_weights_at + correlation::prepared_size;
    static constexpr std::size_t state_size = input_weights_at + input_correlation::prepared_size;

    template <class T>
    static void prepare(std::span<const T> params, std::span<T> state) {
      const auto weights = params.first(weight_count);
      if (std::memcmp(weights.data(), state.data(), weights.size_bytes()) == 0) return;  // the same bits
      std::ranges::copy(weights, state.begin());
      T* flipped = state.data() + flipped_at;
      for (std::size_t co = 0; co < cout; ++co)
        for (std::size_t ci = 0; ci < cin; ++ci)
          for (std::size_t i = 0; i < k * k; ++i)
            flipped[(ci * cout + co) * k * k + (k * k - 1 - i)] = weights[(co * cin + ci) * k * k + i];
      correlation::prepare(weights.data(), state.data() + forward_weights_at);
      input_correlation::prepare(flipped, state.data() + input_weights_at);
    }

    template <class T>
    static void initialize(std::span<T> params, std::span<T>, random_sequence& rng) {
      // PyTorch's default: kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
      const double bound = 1.0 / std::sqrt(static_cast<double>(cin * k * k));
      for (T& p : params) p = static_cast<T>(rng.uniform(-bound, bound));
    }

    // Padding is redone in backward rather than kept: a copy costs less than the
    // memory of a padded map per conv for the whole step.
    template <class V>
    static const V* padded_input(const V* in, V* scratch) {
      if constexpr (!embeds_input) return in;
      else {
        detail::embed<cin, In::height, In::width, Padding, 1>(in, scratch + padded_input_at);
        return scratch + padded_input_at;
      }
    }

    // An epilogue (kernels/epilogue.hpp) applies the layers after this one to its output;
    // in evaluation, one sample's may end in a max-pool of these windows.
    template <std::size_t PoolHeight, std::size_t PoolWidth>
    static constexpr bool pools_one_sample = correlation::template one_sample_pools<PoolHeight, PoolWidth>;
    template <class A, class Epilogue = no_epilogue>
    static void forward(const A& a, const Epilogue& epilogue = {}) {
      const auto* weights = correlation::prepared_size > 0 ? a.state + forward_weights_at : a.params;
      const auto run = [&]<detail::correlation_pass Pass>() {
        correlation::template forward<Pass>(padded_input(a.in, a.scratch), weights, a.out, a.split_channels,
                                            a.scratch + correlation_scratch_at, with_bias(a, epilogue));
      };
      if constexpr (correlation::trains_by_winograd_4x4)
        if (a.run_mode == mode::train) return run.template operator()<detail::correlation_pass::training>();
      run.template operator()<detail::correlation_pass::evaluation>();
    }

    template <class A>
    static void backward(const A& a) {
      correlation::weight_gradient(padded_input(a.in, a.scratch), a.d_out, a.grads, a.scratch + correlation_scratch_at);
      if constexpr (has_bias)
        for (std::size_t c = 0; c < cout; ++c) {
          auto sum = a.d_out[c * hout * wout];
          for (std::size_t i = 1; i < hout * wout; ++i) sum += a.d_out[c * hout * wout + i];
          a.grads[weight_count + c] += lane_sum(sum);
        }
      if (a.d_in) input_gradient(a);
    }

   private:
    // The bias joins the epilogue: added to each sum before the layers after it.
    template <class A, class Epilogue>
    static auto with_bias(const A& a, const Epilogue& epilogue) {
      if constexpr (!has_bias) return epilogue;
      else return biased_epilogue<std::remove_cvref_t<decltype(*a.params)>, cout, Epilogue>{a.params + weight_count, epilogue};
    }

    template <class A>
    static void input_gradient(const A& a) {
      using V = std::remove_cvref_t<decltype(*a.in)>;
      const auto* flipped = a.state + (input_correlation::prepared_size > 0 ? input_weights_at : flipped_at);
      const V* spread = a.d_out;
      if constexpr (spreads_gradient) {
        detail::embed<cout, hout, wout, k - 1, s>(a.d_out, a.scratch + spread_gradient_at);
        spread = a.scratch + spread_gradient_at;
      }
      V* own_scratch = a.scratch + correlation_scratch_at;
      if constexpr (!crops_gradient) {
        input_correlation::template forward<detail::correlation_pass::training>(spread, flipped, a.d_in, false, own_scratch);
      } else {
        V* full = a.scratch + padded_gradient_at;
        input_correlation::template forward<detail::correlation_pass::training>(spread, flipped, full, false, own_scratch);
        // Rows and columns the forward pass never read (padding, or a stride's remainder) get no gradient.
        for (std::size_t c = 0; c < cin; ++c)
          for (std::size_t y = 0; y < In::height; ++y)
            for (std::size_t x = 0; x < In::width; ++x) {
              const std::size_t py = y + Padding, px = x + Padding;
              a.d_in[(c * In::height + y) * In::width + x] =
                  py < hc && px < wc ? full[(c * hc + py) * wc + px] : V{};
            }
      }
    }
  };
};

}  // namespace typenet

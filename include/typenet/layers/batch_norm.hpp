#pragma once
// batch_norm: normalises each channel over the batch and the map, then scales
// and shifts it (PyTorch nn.BatchNorm2d / BatchNorm1d: eps 1e-5, momentum 0.1,
// running variance unbiased). Training uses the batch's statistics and updates
// the running ones (buffers, not trainable); evaluation uses the running ones.
//
//   using net = typenet::network<typenet::input<1, 28, 28>, typenet::conv<16, 3>, typenet::batch_norm>;
//   static_assert(net::parameter_count == 144 + 32 && net::buffer_count == 32);
//
// It is the one layer that needs the whole batch: its batch kernels take the
// sums (per block, then added in block order, so the result does not depend on
// the number of threads), and its per-block work applies them, in the same task
// as the layers around it (in forward, in the same pass as a relu and dropout
// after it).
#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include "typenet/net/layer.hpp"
#include "typenet/core/pack.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

struct batch_norm {
  static constexpr std::string_view name = "batch_norm";
  static constexpr layer_role role = layer_role::normalization;
  static constexpr double epsilon = 1e-5;
  static constexpr double momentum = 0.1;

  template <class In>
  struct bind : layer_defaults<In> {
    using output_shape = In;
    static constexpr std::size_t c = In::channels, pixels = In::pixels;
    static constexpr std::size_t parameter_count = 2 * c;  // weight (gamma), bias (beta)
    static constexpr std::size_t buffer_count = 2 * c;     // running mean, running variance
    static constexpr std::size_t multiply_adds = In::size;
    static constexpr bool backward_reads_output = false;
    static constexpr bool gradient_in_place = true;  // dx[i] needs dy[i] and x[i] only
    static constexpr std::array<tensor_info, 2> parameter_tensors{{{"weight", 1, {c}}, {"bias", 1, {c}}}};
    static constexpr std::array<tensor_info, 2> buffer_tensors{{{"running_mean", 1, {c}}, {"running_var", 1, {c}}}};
    // Per block: two sums per channel. Kept through the step: mean, 1/std, the
    // batch's dgamma and dbeta, and the number of values per channel.
    static constexpr std::size_t scratch_size = 2 * c;
    static constexpr std::size_t block_sums_size = 2 * c;  // scalars, whatever the lanes
    static constexpr std::size_t state_size = 4 * c + 1;

    template <class T>
    static void initialize(std::span<T> params, std::span<T> buffers, random_sequence&) {
      for (std::size_t i = 0; i < c; ++i) params[i] = 1, params[c + i] = 0, buffers[i] = 0, buffers[c + i] = 1;
    }

    // Per element: scale and shift its channel, with the batch's statistics in
    // training (from forward_batch) and the running ones in evaluation.
    template <class A>
    static auto forward_at(const A& a, std::size_t ch) {
      const auto [scale, shift] = scale_and_shift(a, ch);
      return [scale, shift](std::size_t, auto x) { return x * scale + shift; };
    }
    // In evaluation, of a register whose lane l holds channel first + l of one pixel
    // (lanes past the channels: 0), the same arithmetic per lane.
    template <class X, class A>
    static auto evaluate_over_channels(const A& a, std::size_t first) {
      X scale{}, shift{};
      for (std::size_t l = 0; l < lanes_of<X> && first + l < c; ++l) {
        const auto [s, t] = scale_and_shift(a, first + l);
        scale[l] = s, shift[l] = t;
      }
      return [scale, shift](X x) { return x * scale + shift; };
    }
    // Channel ch's scale and shift: both forms' one arithmetic, so that they give the same bits.
    template <class A>
    static auto scale_and_shift(const A& a, std::size_t ch) {
      using T = std::remove_cvref_t<decltype(*a.params)>;
      const bool training = a.run_mode == mode::train;
      const T mean = training ? a.state[ch] : a.buffers[ch];
      const T inv_std = training ? a.state[c + ch] : T(1) / std::sqrt(a.buffers[c + ch] + T(epsilon));
      const T scale = a.params[ch] * inv_std;
      return std::pair{scale, a.params[c + ch] - mean * scale};
    }

    // Training, per block, in the task that has just computed the block's input:
    // sums per channel of x - s and (x - s)^2, s the running mean (so that the
    // variance E[(x - s)^2] - E[x - s]^2 does not cancel once s is near the mean).
    template <class A>
    static void forward_block_sums(const A& a) {
      using T = std::remove_cvref_t<decltype(*a.params)>;
      auto* sums = scalars_in<T>(a.scratch);
      for (std::size_t ch = 0; ch < c; ++ch) {
        const auto* x = a.in + ch * pixels;
        const T shift = a.buffers[ch];
        auto s1 = x[0] - x[0], s2 = s1;
        for (std::size_t i = 0; i < pixels; ++i) {
          const auto d = x[i] - shift;
          s1 += d, s2 += d * d;
        }
        sums[ch] = lane_sum(s1 * a.valid), sums[c + ch] = lane_sum(s2 * a.valid);
      }
    }

    // Training, over the whole batch: the blocks' sums added in block order, then
    // the mean and 1/std of each channel (and the running statistics updated).
    template <class A>
    static void forward_batch(const A& a) {
      using T = std::remove_cvref_t<decltype(*a.params)>;
      const T n = static_cast<T>(a.samples * pixels);
      T* mean = a.state;
      T* var = a.state + c;
      batch_totals(a, 0, mean);
      batch_totals(a, c, var);
      for (std::size_t ch = 0; ch < c; ++ch) {
        const T shifted_mean = mean[ch] / n;
        mean[ch] = a.buffers[ch] + shifted_mean;
        var[ch] = std::max(T(0), var[ch] / n - shifted_mean * shifted_mean);
        a.buffers[ch] = T(1 - momentum) * a.buffers[ch] + T(momentum) * mean[ch];
        a.buffers[c + ch] = T(1 - momentum) * a.buffers[c + ch] + T(momentum) * var[ch] * n / (n - 1);
        var[ch] = T(1) / std::sqrt(var[ch] + T(epsilon));  // from here on: 1 / std
      }
      a.state[4 * c] = n;
    }

    // With x^ = (x - mean) / std:  dgamma = sum(dy x^), dbeta = sum(dy) over the
    // batch: per block in the task that has just computed dy, then added in block
    // order; backward then gives dx = gamma / std * (dy - dbeta / n - x^ dgamma / n),
    // zero in padding lanes.
    template <class A>
    static void backward_block_sums(const A& a) {
      for (std::size_t ch = 0; ch < c; ++ch) {
        auto sums = backward_sums_at(a, ch);
        for (std::size_t i = ch * pixels; i < (ch + 1) * pixels; ++i) sums.add(a.in[i], a.d_out[i]);
        sums.store();
      }
    }

    // The same sums of channel ch taken one element at a time, add(x, dy), then
    // store(): so that the pass that computes dy (the engine's chain) takes them too.
    template <class A>
    static auto backward_sums_at(const A& a, std::size_t ch) {
      using V = std::remove_cvref_t<decltype(*a.in)>;
      using T = scalar_of<V>;
      struct channel_sums {
        T* sums;
        std::size_t ch;
        T mean, inv_std;
        V dbeta{}, dgamma{};
        void add(V x, V dy) { dbeta += dy, dgamma += dy * (x - mean); }
        void store() const { sums[ch] = lane_sum(dgamma) * inv_std, sums[c + ch] = lane_sum(dbeta); }
      };
      return channel_sums{scalars_in<T>(a.scratch), ch, a.state[ch], a.state[c + ch]};
    }

    template <class A>
    static void backward_batch(const A& a) {
      using T = std::remove_cvref_t<decltype(*a.params)>;
      T* dgamma = a.state + 2 * c;
      T* dbeta = a.state + 3 * c;
      batch_totals(a, 0, dgamma);
      batch_totals(a, c, dbeta);
      for (std::size_t ch = 0; ch < c; ++ch) a.grads[ch] += dgamma[ch], a.grads[c + ch] += dbeta[ch];
    }

    template <class A>
    static void backward(const A& a) {
      using T = std::remove_cvref_t<decltype(*a.params)>;
      if (!a.d_in) return;
      const T* mean = a.state;
      const T* inv_std = a.state + c;
      const T* dgamma = a.state + 2 * c;
      const T* dbeta = a.state + 3 * c;
      const T n = a.state[4 * c];
      for (std::size_t ch = 0; ch < c; ++ch) {
        const T k = a.params[ch] * inv_std[ch];
        const T mean_dbeta = dbeta[ch] / n, mean_dgamma = dgamma[ch] / n * inv_std[ch];
        for (std::size_t i = 0; i < pixels; ++i)
          a.d_in[ch * pixels + i] =
              (a.d_out[ch * pixels + i] - mean_dbeta - (a.in[ch * pixels + i] - mean[ch]) * mean_dgamma) * k * a.valid;
      }
    }

   private:
    // Adds the blocks' sums at `at` in block order.
    template <class A, class T>
    static void batch_totals(const A& a, std::size_t at, T* total) {
      for (std::size_t ch = 0; ch < c; ++ch) {
        T s = 0;
        for (std::size_t b = 0; b < a.blocks; ++b) s += scalars_in<T>(a.scratch + b * a.scratch_stride)[at + ch];
        total[ch] = s;
      }
    }
  };
};

}  // namespace typenet

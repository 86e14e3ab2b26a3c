#pragma once
// Pooling over windows of a map: max_pool<K> and avg_pool<K> (window K, stride K;
// PyTorch nn.MaxPool2d(K), nn.AvgPool2d(K)) and global_avg_pool (the mean of each
// channel, nn.AdaptiveAvgPool2d(1) + flatten). A window must divide the map
// exactly: a pixel silently dropped is a mistake we refuse to compile.
//
//   using net = typenet::network<typenet::input<16, 24, 24>, typenet::max_pool<2>>;
//   static_assert(std::is_same_v<net::output_shape, typenet::shape<16, 12, 12>>);
#include <bit>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <string_view>

#include "typenet/net/layer.hpp"
#include "typenet/core/pack.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

namespace detail {

struct maximum {};
struct average {};

template <class Op, std::size_t KH, std::size_t KW, class In>
struct pool : layer_defaults<In> {
  static constexpr std::size_t c = In::channels, hout = In::height / KH, wout = In::width / KW;
  using output_shape = shape<c, hout, wout>;
  using problem = problem_if<(KH == 0 || KW == 0 || In::height % KH != 0 || In::width % KW != 0),
                             pool_window_does_not_divide_input, input_height<In::height>, input_width<In::width>,
                             window<KH>, window<KW>>;
  // Global pooling counts as a kernel over its whole input (KH = height).
  static constexpr std::size_t kernel = KH, stride = KH;
  static constexpr bool backward_reads_output = std::is_same_v<Op, maximum>;
  // In evaluation, the layer before a max-pool's chain may pool its own outputs (model.hpp).
  static constexpr bool takes_maximum = std::is_same_v<Op, maximum>;
  static constexpr std::size_t window_height = KH, window_width = KW;

  // at[0], at[Step], at[2 Step], ... as a pack X: two loads of them all, at most a
  // register each, and a shuffle of the two. (One load of both registers would be a
  // value wider than a register, which GCC warns of on AVX2: -Wpsabi.)
  template <class X, std::size_t Step, class T>
  static X strided(const T* at) {
    constexpr std::size_t n = lanes_of<X>;
    if constexpr (n == 1 || Step == 1) {
      return load_as<X>(at);
    } else if constexpr (std::has_single_bit(n * Step) && n * Step * sizeof(T) <= 2 * vector_bytes) {
      constexpr std::size_t half = n * Step / 2;
      const auto low = load_as<pack<T, half>>(at), high = load_as<pack<T, half>>(at + half);
      return [&]<std::size_t... L>(std::index_sequence<L...>) {
        return __builtin_shufflevector(low, high, (L * Step)...);
      }(std::make_index_sequence<n>{});
    } else {
      X x;
      for (std::size_t l = 0; l < n; ++l) x[l] = at[l * Step];
      return x;
    }
  }

  // f(o, taps) for each window of channel ch (of every channel, without ch): o the
  // output, taps its input elements in window order.
  template <class F>
  [[gnu::always_inline]] static inline void windows(std::size_t ch, F&& f) {
    for (std::size_t y = 0; y < hout; ++y)
      for (std::size_t x = 0; x < wout; ++x) {
        std::size_t taps[KH * KW];
        for (std::size_t i = 0; i < KH; ++i)
          for (std::size_t j = 0; j < KW; ++j) taps[i * KW + j] = (ch * In::height + y * KH + i) * In::width + x * KW + j;
        f((ch * hout + y) * wout + x, taps);
      }
  }
  template <class F>
  [[gnu::always_inline]] static inline void windows(F&& f) {
    for (std::size_t ch = 0; ch < c; ++ch) windows(ch, f);
  }

  // The window of input element i: its output, its first tap (corner) and i's tap in it.
  struct window_place {
    std::size_t output, corner, tap;
  };
  static constexpr window_place window_of(std::size_t i) {
    const std::size_t ch = i / In::pixels, y = i % In::pixels / In::width, x = i % In::width;
    return {(ch * hout + y / KH) * wout + x / KW, (ch * In::height + y / KH * KH) * In::width + x / KW * KW,
            y % KH * KW + x % KW};
  }

  template <class A>
  static void forward(const A& a) {
    using T = scalar_of<std::remove_cvref_t<decltype(*a.in)>>;
    // Each tap in window order, one pack of outputs at a time.
    const auto pool_at = [&]<class X>(std::size_t o, const auto& tap) {
      X r = tap.template operator()<X>(0);
      for (std::size_t t = 1; t < KH * KW; ++t) {
        const X v = tap.template operator()<X>(t);
        if constexpr (std::is_same_v<Op, maximum>) r = running_max(r, v);
        else r += v;
      }
      if constexpr (std::is_same_v<Op, average>) r *= T(1) / (KH * KW);
      store_as(a.out + o, r);
    };
    if constexpr (lanes_of<std::remove_cvref_t<decltype(*a.in)>> == 1) {
      // One sample: a register of a row's outputs at a time, or of channels where a
      // window covers the map; each tap of them read as one strided pack.
      const T* in = scalars_in<T>(a.in);
      constexpr std::size_t step = wout > 1 ? KW : In::pixels;  // between neighbouring outputs' windows
      const auto outputs = [&](std::size_t first, std::size_t count, const T* corner) {
        each_register<T>(0, count, [&]<class X>(std::size_t o) {
          pool_at.template operator()<X>(first + o, [&]<class P>(std::size_t t) {
            return strided<P, step>(corner + o * step + t / KW * In::width + t % KW);
          });
        });
      };
      if constexpr (wout > 1) {
        for (std::size_t ch = 0; ch < c; ++ch)
          for (std::size_t y = 0; y < hout; ++y) outputs((ch * hout + y) * wout, wout, in + (ch * In::height + y * KH) * In::width);
      } else {
        static_assert(hout == 1, "typenet: a window as wide as the map is as high");
        outputs(0, c, in);
      }
    } else {
      windows([&](std::size_t o, const std::size_t* taps) {
        pool_at.template operator()<std::remove_cvref_t<decltype(*a.in)>>(o, [&]<class P>(std::size_t t) { return a.in[taps[t]]; });
      });
    }
  }

  // Max-pool of a map that is never stored: value(i) gives input element i of
  // channel ch (the chain below, computing it). In the input's place, `winners`
  // keeps each window's winning tap per lane (the first maximum in window order,
  // as backward takes it; KH * KW where none equals the maximum, a NaN), all that
  // input_gradient_from_winners needs of the input.
  template <class A, class V, class Value>
    requires std::is_same_v<Op, maximum>
  static void forward_keeping_winners(const A& a, V* winners, std::size_t ch, const Value& value) {
    using T = scalar_of<V>;
    windows(ch, [&](std::size_t o, const std::size_t* taps) {
      V v[KH * KW];
      for (std::size_t t = 0; t < KH * KW; ++t) v[t] = value(taps[t]);
      V m = v[0];
      for (std::size_t t = 1; t < KH * KW; ++t) m = running_max(m, v[t]);
      V winner = V{} + T(KH * KW);
      for (std::size_t t = KH * KW; t-- > 0;) winner = v[t] == m ? V{} + T(t) : winner;
      a.out[o] = m;
      winners[o] = winner;
    });
  }
  // input_gradient_at, from the winners forward_keeping_winners left in a.in.
  template <class A>
  static auto input_gradient_from_winners(const A& a, std::size_t i) {
    using V = std::remove_cvref_t<decltype(*a.in)>;
    const window_place w = window_of(i);
    return a.in[w.output] == scalar_of<V>(w.tap) ? a.d_out[w.output] : V{};
  }

  // The input gradient of element i alone, what backward() writes there: so that
  // the pass below this layer that reads it (a chain's) can compute it instead.
  template <class A>
  static auto input_gradient_at(const A& a, std::size_t i) {
    using V = std::remove_cvref_t<decltype(*a.in)>;
    const window_place w = window_of(i);
    if constexpr (std::is_same_v<Op, maximum>) {
      // As backward (which takes a window at a time, each tap compared once): the first
      // maximum of each lane's window in window order takes it.
      const V m = a.out[w.output];
      auto taken = a.in[w.corner] != a.in[w.corner];
      for (std::size_t s = 0; s < w.tap; ++s) taken |= a.in[w.corner + s / KW * In::width + s % KW] == m;
      return (a.in[i] == m) & ~taken ? a.d_out[w.output] : V{};
    } else {
      return a.d_out[w.output] * (scalar_of<V>(1) / (KH * KW));
    }
  }

  template <class A>
  static void backward(const A& a) {
    using V = std::remove_cvref_t<decltype(*a.in)>;
    using T = scalar_of<V>;
    if (!a.d_in) return;
    windows([&](std::size_t o, const std::size_t* taps) {
      const auto g = a.d_out[o];
      if constexpr (std::is_same_v<Op, maximum>) {
        // The gradient goes to the first maximum of each lane's window, as in PyTorch.
        auto taken = a.in[taps[0]] != a.in[taps[0]];  // all false
        for (std::size_t t = 0; t < KH * KW; ++t) {
          const auto hit = (a.in[taps[t]] == a.out[o]) & ~taken;
          a.d_in[taps[t]] = hit ? g : V{};
          taken |= hit;
        }
      } else {
        for (std::size_t t = 0; t < KH * KW; ++t) a.d_in[taps[t]] = g * (T(1) / (KH * KW));
      }
    });
  }
};

}  // namespace detail

template <std::size_t K>
struct max_pool {
  static constexpr std::string_view name = "max_pool";
  static constexpr layer_role role = layer_role::max_pooling;
  template <class In> struct bind : detail::pool<detail::maximum, K, K, In> {};
};

template <std::size_t K>
struct avg_pool {
  static constexpr std::string_view name = "avg_pool";
  static constexpr layer_role role = layer_role::average_pooling;
  template <class In> struct bind : detail::pool<detail::average, K, K, In> {};
};

struct global_avg_pool {
  static constexpr std::string_view name = "global_avg_pool";
  static constexpr layer_role role = layer_role::average_pooling;
  template <class In> struct bind : detail::pool<detail::average, In::height, In::width, In> {
    using output_shape = shape<In::channels>;
  };
};

}  // namespace typenet

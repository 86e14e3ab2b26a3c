#pragma once
// dropout<Rate>: in training, zeroes each element with probability Rate and
// scales the rest by 1 / (1 - Rate); in evaluation, the identity (PyTorch
// nn.Dropout(Rate)). The mask is a pure function of (seed, step, layer, sample,
// element), so it is the same whatever the thread count and is recomputed in
// backward rather than stored.
//
//   using block = typenet::network<typenet::input<16, 8, 8>, typenet::relu, typenet::dropout<0.05>>;
#include <cstdint>
#include <string_view>

#include "typenet/net/layer.hpp"
#include "typenet/core/pack.hpp"

namespace typenet {

template <double Rate>
struct dropout {
  static_assert(Rate >= 0.0 && Rate < 1.0, "typenet: dropout rate must be in [0, 1)");
  static constexpr std::string_view name = "dropout";
  static constexpr layer_role role = layer_role::regularization;

  template <class In>
  struct bind : layer_defaults<In> {
    using output_shape = In;
    static constexpr bool in_place = true;  // backward recomputes the mask
    static constexpr bool backward_reads_output = false;

    // The per-lane multiplier (0 or 1 / (1 - Rate)) of element i, from a vectorised
    // 32-bit hash (murmur3's finaliser) of a per-lane counter: lane l holds element i
    // of sample first_sample + l, or in a register of one sample's consecutive
    // elements (X wider than the block), element i + l of first_sample.
    template <class X, class A>
    [[gnu::always_inline]] static inline X multiplier(const A& a, std::size_t i) {
      using V = std::remove_cvref_t<decltype(*a.in)>;
      using T = scalar_of<V>;
      using U = pack<std::uint32_t, lanes_of<X>>;
      constexpr auto lane_step = static_cast<std::uint32_t>(lanes_of<V> == 1 ? 1 : In::size);
      U h = lane_index<U>() * lane_step + static_cast<std::uint32_t>(a.first_sample * In::size + i);
      h ^= static_cast<std::uint32_t>(a.key);
      h *= 0x9e3779b1u;
      h ^= static_cast<std::uint32_t>(a.key >> 32);
      h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
      constexpr auto threshold = static_cast<std::uint32_t>(Rate * 4294967296.0);
      constexpr T scale = static_cast<T>(1.0 / (1.0 - Rate));
      // The comparison's lanes widened to the scalar's width (64-bit for double).
      using mask = decltype(X{} < X{});
      return __builtin_convertvector(h >= threshold, mask) ? X{} + scale : X{};
    }

    template <class U>
    static constexpr U lane_index() {
      U u{};
      for (std::size_t l = 0; l < lanes_of<U>; ++l) u[l] = static_cast<std::uint32_t>(l);
      return u;
    }

    template <class A>
    static auto forward_at(const A& a, std::size_t) {
      const bool training = a.run_mode == mode::train;
      return [&a, training](std::size_t i, auto x) { return training ? x * multiplier<decltype(x)>(a, i) : x; };
    }
    // In evaluation (of a register of channels, batch_norm.hpp): the identity.
    template <class X, class A>
    static auto evaluate_over_channels(const A&, std::size_t) {
      return [](X x) { return x; };
    }
    template <class A>
    static auto backward_at(const A& a, std::size_t) {
      return [&a](std::size_t i, auto, auto g) { return g * multiplier<decltype(g)>(a, i); };
    }
  };
};

}  // namespace typenet

#pragma once
// An epilogue: what a layer that computes sums (conv) applies to each output
// before it stores it, so that the pointwise layers after it run in the same pass.
// It is a callable `epilogue(channel)` that returns f, and the layer stores
// f(i, sum) for element i of that channel (f as a pointwise layer's, layer.hpp).
// The engine passes the chain that follows the layer in evaluation.
//
//   conv::forward(a, [&](std::size_t ch) { return [](std::size_t, auto x) { return x > 0 ? x : decltype(x){}; }; });
//
// A kernel that holds a pixel's channels in a register's lanes (one sample's,
// winograd.hpp) takes the chain as one function of such a register instead, where
// the epilogue has it (over_channels_epilogue); it may then also max-pool what the
// chain gives, where the max-pool follows the chain (pooling_epilogue).
#include <concepts>
#include <cstddef>
#include <type_traits>

#include "typenet/core/pack.hpp"

namespace typenet {

// The default: none, the sums are stored as they are.
struct no_epilogue {};

// The engine's epilogue: `per_channel(channel)` as above, and `over(first)`, the
// same layers as a function of a register X whose lane l holds channel first + l
// of one pixel, in evaluation; then a max-pool of PoolHeight x PoolWidth windows
// (stride the window) where those are not 1.
template <class PerChannel, class Over, std::size_t PoolHeight = 1, std::size_t PoolWidth = 1>
struct layers_epilogue {
  PerChannel per_channel;
  Over over;
  static constexpr std::size_t pool_height = PoolHeight, pool_width = PoolWidth;
  auto operator()(std::size_t channel) const { return per_channel(channel); }
  template <class X>
  auto over_channels(std::size_t first) const { return over.template operator()<X>(first); }
};

template <class E, class X>
concept over_channels_epilogue = requires(const E& e) {
  { e.template over_channels<X>(std::size_t{})(X{}) } -> std::same_as<X>;
};
// Its max-pool's window: 1 x 1 where it has none.
template <class E>
inline constexpr std::size_t epilogue_pool_height = 1;
template <class E>
  requires requires { E::pool_height; }
inline constexpr std::size_t epilogue_pool_height<E> = E::pool_height;
template <class E>
inline constexpr std::size_t epilogue_pool_width = 1;
template <class E>
  requires requires { E::pool_width; }
inline constexpr std::size_t epilogue_pool_width<E> = E::pool_width;
template <class E>
concept pooling_epilogue = epilogue_pool_height<E> * epilogue_pool_width<E> > 1;

// The epilogue that adds bias[channel] to each sum, then applies `then` (none: no_epilogue).
template <class T, std::size_t Channels, class Then>
struct biased_epilogue {
  const T* bias;
  Then then;
  static constexpr std::size_t pool_height = epilogue_pool_height<Then>, pool_width = epilogue_pool_width<Then>;
  auto operator()(std::size_t channel) const {
    if constexpr (std::is_same_v<Then, no_epilogue>)
      return [b = bias[channel]](std::size_t, auto x) { return x + b; };
    else
      return [b = bias[channel], f = then(channel)](std::size_t i, auto x) { return f(i, x + b); };
  }
  template <class X>
    requires std::is_same_v<Then, no_epilogue> || over_channels_epilogue<Then, X>
  auto over_channels(std::size_t first) const {
    X b{};  // lanes past the channels: 0
    for (std::size_t l = 0; l < lanes_of<X> && first + l < Channels; ++l) b[l] = bias[first + l];
    if constexpr (std::is_same_v<Then, no_epilogue>) return [b](X x) { return x + b; };
    else return [b, f = then.template over_channels<X>(first)](X x) { return f(x + b); };
  }
};

namespace detail {

// The plane of channel `channel` of one sample's output (`plane` scalars a channel)
// through the epilogue in place, a register at a time: for the kernels that
// vectorise over a sample's pixels and store a plane before its epilogue runs.
template <class T, class Epilogue>
void apply_epilogue(T* out, const Epilogue& epilogue, std::size_t channel, std::size_t plane) {
  if constexpr (!std::is_same_v<Epilogue, no_epilogue>) {
    const auto f = epilogue(channel);
    each_register<T>(channel * plane, (channel + 1) * plane,
                     [&]<class X>(std::size_t i) { store_as(out + i, f(i, load_as<X>(out + i))); });
  }
}

}  // namespace detail
}  // namespace typenet

#pragma once
// execution_plan<Net, Memory, V, T>: how the engine runs a network, derived once
// from its type, as Net::facts is: where each activation and each layer's state
// lives, which layers run fused as pointwise chains (layer.hpp), where batch
// statistics cut the network into segments, and which of the two gradient
// buffers each layer reads. The model reads these arrays; it computes none of
// them, and the compiler evaluates each once, whatever the depth.
//
//   using plan = typenet::execution_plan<net, typenet::activation_memory::reused, pack<float, 16>, float>;
//   static_assert(plan::activation_offset[0] == 0);       // the input comes first
//   static_assert(plan::next_barrier[0] <= net::depth);   // the first segment ends at a batch layer
#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include "typenet/net/layer.hpp"

namespace typenet {

// What the arena keeps: reused (layers that may, write their output over their
// input) or kept (every layer's output stays readable, for looking inside).
enum class activation_memory { reused, kept };

namespace detail {
// f<Layer>() for every bound layer of Net, as an array.
template <class Net, class F>
constexpr auto per_layer(F f) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array{f.template operator()<typename Net::template layer<I>>()...};
  }(std::make_index_sequence<Net::depth>{});
}
}  // namespace detail

template <class Net, activation_memory Memory, class V, class T>
struct execution_plan {
  static constexpr std::size_t depth = Net::depth;
  using sizes = std::array<std::size_t, depth + 1>;

  // Chains run fused only with reused memory; kept memory stores every output.
  static constexpr std::array<bool, depth> fused = [] {
    std::array<bool, depth> f{};
    for (std::size_t i = 0; i < depth; ++i) f[i] = Memory == activation_memory::reused && Net::facts[i].feeds_chain;
    return f;
  }();
  // Layer i's output takes its input's place in the arena.
  static constexpr std::array<bool, depth> overwrites = [] {
    std::array<bool, depth> o{};
    for (std::size_t i = 0; i < depth; ++i)
      o[i] = Memory == activation_memory::reused && (Net::facts[i].overwrites_input || fused[i]);
    return o;
  }();
  // The last layer of the chain that layer i starts, and the first of the chain that i ends.
  static constexpr std::array<std::size_t, depth> chain_end = [] {
    std::array<std::size_t, depth> e{};
    for (std::size_t i = depth; i-- > 0;) e[i] = fused[i] ? e[i + 1] : i;  // fused[depth - 1] is false
    return e;
  }();
  static constexpr std::array<std::size_t, depth> chain_start = [] {
    std::array<std::size_t, depth> s{};
    for (std::size_t i = 0; i < depth; ++i) s[i] = i > 0 && fused[i - 1] ? s[i - 1] : i;
    return s;
  }();

  // Per-sample offset of activation i (0: the input; i: the output of layer i - 1).
  static constexpr sizes activation_offset = [] {
    sizes a{};
    for (std::size_t i = 0; i < depth; ++i)
      a[i + 1] = a[i] + (overwrites[i] ? 0 : i == 0 ? Net::input_size : Net::facts[i - 1].output_size);
    return a;
  }();
  static constexpr std::size_t activation_size = activation_offset[depth] + Net::output_size;

  // Where layer i's state (kept from forward to backward of a step) begins.
  static constexpr sizes state_offset = [] {
    constexpr auto state = detail::per_layer<Net>([]<class L>() { return L::state_size; });
    sizes s{};
    for (std::size_t i = 0; i < depth; ++i) s[i + 1] = s[i] + state[i];
    return s;
  }();

  // Per-block sizes: the largest activation (each gradient buffer's stride) and scratch.
  static constexpr std::size_t largest_activation = std::ranges::max(
      detail::per_layer<Net>([]<class L>() { return std::max(L::input_shape::size, L::output_shape::size); }));
  static constexpr std::size_t scratch_stride = std::max<std::size_t>(
      1, std::ranges::max(detail::per_layer<Net>([]<class L>() { return scratch_packs<L, lanes_of<V>>(); })));
  // The widest kernel: how far past a buffer's end a one-sample kernel may read.
  static constexpr std::size_t largest_kernel =
      std::ranges::max(detail::per_layer<Net>([]<class L>() { return L::kernel; }));

  // Layers whose statistics span the batch (batch norm in training): barriers between segments.
  static constexpr std::array<bool, depth> batch_layer =
      detail::per_layer<Net>([]<class L>() { return batch_statistics_layer<L>; });
  // The first batch layer after i, or depth.
  static constexpr sizes next_barrier = [] {
    sizes n{};
    n[depth] = depth;
    for (std::size_t i = depth; i-- > 0;) n[i] = i + 1 < depth && batch_layer[i + 1] ? i + 1 : n[i + 1];
    return n;
  }();
  // One above the batch layer below `top`, or 0.
  static constexpr std::array<std::size_t, depth> segment_bottom = [] {
    std::array<std::size_t, depth> b{};
    for (std::size_t i = 1; i < depth; ++i) b[i] = batch_layer[i - 1] ? i : b[i - 1];
    return b;
  }();

  // Output gradients live in two buffers. Layer i reads its d_out from one and
  // writes its input gradient over it where its backward allows (a chain, or
  // gradient_in_place), else into the other; so the buffer layer i reads flips at
  // every layer above it that does not write in place.
  static constexpr std::array<bool, depth> gradient_in_place = detail::per_layer<Net>(
      []<class L>() { return pointwise_gradient_layer<L> || L::gradient_in_place; });
  static constexpr std::array<bool, depth> reads_second_gradient_buffer = [] {
    std::array<bool, depth> second{};
    for (std::size_t i = depth - 1; i-- > 0;) second[i] = second[i + 1] ^ !gradient_in_place[i + 1];
    return second;
  }();
};

}  // namespace typenet

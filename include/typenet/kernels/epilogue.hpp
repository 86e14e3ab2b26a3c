#pragma once
// An epilogue: what a layer that computes sums (conv) applies to each output
// before it stores it, so that the pointwise layers after it run in the same pass.
// It is a callable `epilogue(channel)` that returns f, and the layer stores
// f(i, sum) for element i of that channel (f as a pointwise layer's, layer.hpp).
// The engine passes the chain that follows the layer in evaluation.
//
//   conv::forward(a, [&](std::size_t ch) { return [](std::size_t, auto x) { return x > 0 ? x : decltype(x){}; }; });
#include <cstddef>
#include <type_traits>

#include "typenet/core/pack.hpp"

namespace typenet {

// The default: none, the sums are stored as they are.
struct no_epilogue {};

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

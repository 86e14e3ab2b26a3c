#pragma once
// An epilogue: what a layer that computes sums (conv) applies to each output
// before it stores it, so that the pointwise layers after it run in the same pass.
// It is a callable `epilogue(channel)` that returns f, and the layer stores
// f(i, sum) for element i of that channel (f as a pointwise layer's, layer.hpp).
// The engine passes the chain that follows the layer in evaluation.
//
//   conv::forward(a, [&](std::size_t ch) { return [](std::size_t, auto x) { return x > 0 ? x : decltype(x){}; }; });

namespace typenet {

// The default: none, the sums are stored as they are.
struct no_epilogue {};

}  // namespace typenet

#pragma once
// exp and tanh of a whole pack of floats in vector instructions: Cephes' expf and
// tanhf (range reduction, then a polynomial), within 2 ulp of std::exp and
// std::tanh, where mapping the standard function over the lanes made a tanh layer
// cost 15 relus. Packs of doubles (the gradient checks') map the standard functions.
//
//   typenet::pack<float, 16> y = typenet::tanh_of(x);   // 16 lanes at once
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "typenet/core/pack.hpp"

namespace typenet {

template <class V>
inline V exp_of(V x) {
  if constexpr (!std::is_same_v<scalar_of<V>, float>) {
    return map_lanes(x, [](auto v) { return std::exp(v); });
  } else {
    using ints = pack<std::int32_t, lanes_of<V>>;
    // e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln 2 / 2; 2^n must stay a normal
    // float, which bounds x (e^88 is near the largest float, e^-87.3 the smallest normal).
    x = x > 88.0f ? V{} + 88.0f : x;
    x = x < -87.33654f ? V{} - 87.33654f : x;
    V rounded = x * 1.44269504088896341f + 0.5f;
    rounded = rounded == rounded ? rounded : V{};  // NaN has no integer (converting it is undefined)
    V n = __builtin_convertvector(__builtin_convertvector(rounded, ints), V);  // toward zero
    n = n > rounded ? n - 1.0f : n;                                               // then down: floor
    const V r = x - n * 0.693359375f - n * -2.12194440e-4f;  // ln 2 in two parts: r is exact
    const V p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                 1.6666665459e-1f) * r + 5.0000001201e-1f;
    const ints two_to_n = (__builtin_convertvector(n, ints) + 127) << 23;  // 2^n's bits as a float
    return (p * (r * r) + r + 1.0f) * std::bit_cast<V>(two_to_n);  // NaN in x stays NaN through r
  }
}

template <class V>
inline V tanh_of(V x) {
  if constexpr (!std::is_same_v<scalar_of<V>, float>) {
    return map_lanes(x, [](auto v) { return std::tanh(v); });
  } else {
    // Near 0, an odd polynomial (1 - 2 / (e^2|x| + 1) would lose the digits of a small x);
    // beyond, that formula, with |x| capped at 9.5, where tanh rounds to 1.
    const V s = x * x;
    const V near_zero = ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s +
                          1.33314422036e-1f) * s - 3.33332819422e-1f) * s * x + x;
    const V magnitude = x < 0 ? -x : x;
    const V far = 1.0f - 2.0f / (exp_of(2.0f * (magnitude > 9.5f ? V{} + 9.5f : magnitude)) + 1.0f);
    return magnitude < 0.625f ? near_zero : x < 0 ? -far : far;
  }
}

}  // namespace typenet

#pragma once
// A pack is a SIMD vector holding the same value of `Lanes` different samples.
// Every kernel of typenet is written as if for one sample, with a pack in place
// of a scalar: one instruction then computes a block of `Lanes` samples, for any
// shape, channel count or kernel size, with no tail loops over pixels.
//
//   using V = typenet::pack<float, 16>;   // 16 samples of one activation
//   V y = x * 2.0f + 1.0f;                 // scalars broadcast
//   float total = typenet::lane_sum(y);
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

namespace typenet {

namespace detail {
template <class T, std::size_t Lanes> struct pack_of;
// GCC vector extensions want a concrete element type, hence one line per type.
template <std::size_t L> struct pack_of<float, L> { typedef float type __attribute__((vector_size(sizeof(float) * L))); };
template <std::size_t L> struct pack_of<double, L> { typedef double type __attribute__((vector_size(sizeof(double) * L))); };
template <std::size_t L> struct pack_of<std::uint32_t, L> { typedef std::uint32_t type __attribute__((vector_size(sizeof(std::uint32_t) * L))); };
template <std::size_t L> struct pack_of<std::int32_t, L> { typedef std::int32_t type __attribute__((vector_size(sizeof(std::int32_t) * L))); };
}  // namespace detail

template <class T, std::size_t Lanes>
using pack = typename detail::pack_of<T, Lanes>::type;

namespace detail {
template <class T> struct aliasing;
template <> struct aliasing<float> { typedef float __attribute__((may_alias)) type; };
template <> struct aliasing<double> { typedef double __attribute__((may_alias)) type; };
}  // namespace detail

// Scalars stored in scratch memory that is otherwise packs: accessed through a
// may_alias type, so the compiler does not assume the two never overlap.
template <class T, class V>
inline auto* scalars_in(V* packs) {
  return reinterpret_cast<typename detail::aliasing<T>::type*>(packs);
}
template <class T, class V>
inline auto* scalars_in(const V* packs) {
  return reinterpret_cast<const typename detail::aliasing<T>::type*>(packs);
}

// The target's vector registers. A pack wider than one register is no faster: GCC
// keeps it on the stack and splits every operation (AVX2 ran ref11k 9x slower with
// 512-bit packs than with 256-bit ones), and a kernel's tile of accumulators must
// fit in the registers for the same reason.
#if defined(__AVX512F__)
inline constexpr std::size_t vector_bytes = 64, vector_registers = 32;
#elif defined(__AVX__)
inline constexpr std::size_t vector_bytes = 32, vector_registers = 16;
#else
inline constexpr std::size_t vector_bytes = 16, vector_registers = 16;
#endif

// One register of samples: the block size of the engine. Sums over samples follow the
// blocks, so results are bit-identical for one instruction set (any thread count), and
// differ in their last bits between, say, AVX-512 (16 floats) and AVX2 (8).
template <class T>
inline constexpr std::size_t default_lanes = vector_bytes / sizeof(T);

template <class V>
inline constexpr std::size_t lanes_of = sizeof(V) / sizeof(V{}[0]);

template <class V>
using scalar_of = std::remove_cvref_t<decltype(V{}[0])>;

// A pack of any width read from, or written to, memory of scalars or other packs.
template <class X, class P>
inline X load_as(const P* at) {
  X x;
  std::memcpy(&x, at, sizeof(X));
  return x;
}
template <class X, class P>
inline void store_as(P* at, X x) {
  std::memcpy(at, &x, sizeof(X));
}

// Calls step.template operator()<X>(i) over [begin, end) of consecutive scalars of
// T, X the pack that holds i and those after it: a register's width of them while
// they last, then halves of it (24 scalars: 16, then 8).
template <class T, std::size_t Width = vector_bytes / sizeof(T), class Step>
inline void each_register(std::size_t begin, std::size_t end, Step&& step) {
  for (; begin + Width <= end; begin += Width) step.template operator()<pack<T, Width>>(begin);
  if constexpr (Width > 1) each_register<T, Width / 2>(begin, end, step);
}

// Calls step.template operator()<X>(i) over elements [begin, end) of an array of
// packs V, X the type that holds element i: V itself, or where V holds one scalar,
// a register of consecutive elements i, i + 1, ... (each_register).
template <class V, class Step>
inline void each_element(std::size_t begin, std::size_t end, Step&& step) {
  if constexpr (lanes_of<V> == 1) each_register<scalar_of<V>>(begin, end, step);
  else for (; begin < end; ++begin) step.template operator()<V>(begin);
}

// Sum of the lanes in a fixed order (so results do not depend on the compiler's
// reassociation): pairwise halving, lane i + lane i + n/2, in registers.
template <class V>
inline auto lane_sum(V v) {
  constexpr std::size_t n = lanes_of<V>;
  if constexpr (n == 1) {
    return v[0];
  } else {
    using half = pack<scalar_of<V>, n / 2>;
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      const half low = __builtin_shufflevector(v, v, I...);
      const half high = __builtin_shufflevector(v, v, (I + n / 2)...);
      return lane_sum(low + high);
    }(std::make_index_sequence<n / 2>{});
  }
}

// A max-pool's running maximum, lane by lane: v where it is greater than r, else r, so
// that the first maximum in window order stays and a NaN never wins. The pool layer and
// the kernel that pools for it (winograd.hpp) both take it, so that they agree bit for bit.
template <class V>
inline V running_max(V r, V v) {
  return v > r ? v : r;
}

// Applies a scalar function to every lane (for log, or doubles: cheap layers only;
// core/vector_math.hpp has exp and tanh of float packs in vector instructions).
template <class V, class F>
inline V map_lanes(V v, F f) {
  for (std::size_t i = 0; i < lanes_of<V>; ++i) v[i] = f(v[i]);
  return v;
}

}  // namespace typenet

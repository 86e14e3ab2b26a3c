#pragma once
// The transforms of Winograd's minimal filtering F(m x m, 3x3) (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2015): an m x m tile of a
// 3x3 correlation's output from the n x n input tile under it (n = m + 2), with
// n^2 multiplies per pair of channels where the direct sum takes 9 m^2:
//
//   Y = A^T [ (G g G^T) . (B^T d B) ] A     (. elementwise, each n x n)
//
// Each 2-D transform is its 1-D step down the columns, then along the rows. A step
// is written once for any X (a pack of samples, a register of tiles, a scalar), so
// every kernel that uses it does the same operations in the same order.
//
// F(2x2, 3x3): 16 multiplies for 36; coefficients 0, +-1 and 1/2, so fp32 results
// differ from the direct sum's in their last bits only.
// F(4x4, 3x3): 36 multiplies for 144; coefficients up to 8 and 1/24, rounding
// about ten times F(2x2)'s (1e-6 of the terms' magnitude, measured in test_winograd).
#include <cstddef>
#include <type_traits>

#include "typenet/core/pack.hpp"

namespace typenet::detail {

// c in the scalar type of X, a pack or a scalar: a pack's operators take their own scalars.
template <class X>
constexpr auto scalar_constant(double c) {
  if constexpr (std::is_arithmetic_v<X>) return static_cast<X>(c);
  else return static_cast<scalar_of<X>>(c);
}

template <std::size_t M>
struct winograd_transform;

template <>
struct winograd_transform<2> {
  static constexpr std::size_t m = 2, n = 4;
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
  template <class X>
  static void kernel_step(const X (&g)[3], X (&o)[n]) {
    constexpr auto half = scalar_constant<X>(0.5);
    o[0] = g[0];
    o[1] = half * (g[0] + g[1] + g[2]);
    o[2] = half * (g[0] - g[1] + g[2]);
    o[3] = g[2];
  }
  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
  template <class X>
  [[gnu::always_inline]] static inline void input_step(const X (&a)[n], X (&o)[n]) {
    o[0] = a[0] - a[2];
    o[1] = a[1] + a[2];
    o[2] = a[2] - a[1];
    o[3] = a[1] - a[3];
  }
  // A^T = [1 1 1 0; 0 1 -1 -1]
  template <class X>
  [[gnu::always_inline]] static inline void output_step(const X (&a)[n], X (&o)[m]) {
    o[0] = a[0] + a[1] + a[2];
    o[1] = a[1] - a[2] - a[3];
  }
  // The weight gradient's: A (an output gradient tile's step) and G^T (Z's).
  template <class X>
  [[gnu::always_inline]] static inline void output_gradient_step(const X (&a)[m], X (&o)[n]) {
    o[0] = a[0];
    o[1] = a[0] + a[1];
    o[2] = a[0] - a[1];
    o[3] = -a[1];
  }
  template <class X>
  static void kernel_gradient_step(const X (&z)[n], X (&o)[3]) {
    constexpr auto half = scalar_constant<X>(0.5);
    o[0] = z[0] + half * (z[1] + z[2]);
    o[1] = half * (z[1] - z[2]);
    o[2] = half * (z[1] + z[2]) + z[3];
  }
};

template <>
struct winograd_transform<4> {
  static constexpr std::size_t m = 4, n = 6;
  // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
  template <class X>
  static void kernel_step(const X (&g)[3], X (&o)[n]) {
    constexpr auto four = scalar_constant<X>(4), six = scalar_constant<X>(6), twelve = scalar_constant<X>(12),
                   twenty_four = scalar_constant<X>(24);
    o[0] = g[0] / four;
    o[1] = -(g[0] + g[1] + g[2]) / six;
    o[2] = -(g[0] - g[1] + g[2]) / six;
    o[3] = g[0] / twenty_four + g[1] / twelve + g[2] / six;
    o[4] = g[0] / twenty_four - g[1] / twelve + g[2] / six;
    o[5] = g[2];
  }
  // B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
  // rows 1 to 4 through shared differences. 5a is written 4a + a, the same rounded value:
  // GCC fuses a multiply into the add after it, choosing which by the code around, and
  // a fused 5a rounds once less than a product; its products by powers of 2 are exact,
  // fused or not, so every kernel's transform gives the same bits (evaluation's must).
  template <class X>
  [[gnu::always_inline]] static inline void input_step(const X (&a)[n], X (&o)[n]) {
    constexpr auto two = scalar_constant<X>(2), four = scalar_constant<X>(4);
    const X t0 = a[4] - four * a[2], t1 = a[3] - four * a[1], t2 = a[4] - a[2], t3 = two * (a[3] - a[1]);
    o[0] = four * a[0] - (four * a[2] + a[2]) + a[4];
    o[1] = t0 + t1;
    o[2] = t0 - t1;
    o[3] = t2 + t3;
    o[4] = t2 - t3;
    o[5] = four * a[1] - (four * a[3] + a[3]) + a[5];
  }
  // A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
  template <class X>
  [[gnu::always_inline]] static inline void output_step(const X (&a)[n], X (&o)[m]) {
    constexpr auto two = scalar_constant<X>(2), four = scalar_constant<X>(4), eight = scalar_constant<X>(8);
    const X sum12 = a[1] + a[2], difference12 = a[1] - a[2], sum34 = a[3] + a[4], difference34 = a[3] - a[4];
    o[0] = a[0] + sum12 + sum34;
    o[1] = difference12 + two * difference34;
    o[2] = sum12 + four * sum34;
    o[3] = difference12 + eight * difference34 + a[5];
  }
  // The weight gradient's: A (A^T above, transposed) and G^T.
  template <class X>
  [[gnu::always_inline]] static inline void output_gradient_step(const X (&a)[m], X (&o)[n]) {
    constexpr auto two = scalar_constant<X>(2), four = scalar_constant<X>(4), eight = scalar_constant<X>(8);
    const X even = a[0] + a[2], odd = a[1] + a[3], even_scaled = a[0] + four * a[2], odd_scaled = two * a[1] + eight * a[3];
    o[0] = a[0];
    o[1] = even + odd;
    o[2] = even - odd;
    o[3] = even_scaled + odd_scaled;
    o[4] = even_scaled - odd_scaled;
    o[5] = a[3];
  }
  template <class X>
  static void kernel_gradient_step(const X (&z)[n], X (&o)[3]) {
    constexpr auto four = scalar_constant<X>(4), six = scalar_constant<X>(6), twelve = scalar_constant<X>(12),
                   twenty_four = scalar_constant<X>(24);
    o[0] = z[0] / four - (z[1] + z[2]) / six + (z[3] + z[4]) / twenty_four;
    o[1] = (z[2] - z[1]) / six + (z[3] - z[4]) / twelve;
    o[2] = (z[3] + z[4] - z[1] - z[2]) / six + z[5];
  }
};

// A 1-D step from I values to O applied in 2-D: down the columns of the I x I
// array that at(y, x) reads, then along the rows of the result, whose O x O values
// go to put(y, x, value). Every transform below, and the weight gradient's, is one.
template <std::size_t I, std::size_t O, class Step, class At, class Put>
[[gnu::always_inline]] inline void separably(const Step& step, const At& at, const Put& put) {
  using X = std::remove_cvref_t<decltype(at(0, 0))>;
  X c[O][I];  // the step down the columns
#pragma GCC unroll 8
  for (std::size_t x = 0; x < I; ++x) {
    X column[I], o[O];
#pragma GCC unroll 8
    for (std::size_t y = 0; y < I; ++y) column[y] = at(y, x);
    step(column, o);
#pragma GCC unroll 8
    for (std::size_t y = 0; y < O; ++y) c[y][x] = o[y];
  }
#pragma GCC unroll 8
  for (std::size_t y = 0; y < O; ++y) {
    X o[O];
    step(c[y], o);
#pragma GCC unroll 8
    for (std::size_t x = 0; x < O; ++x) put(y, x, o[x]);
  }
}

// B^T t B, A^T p A and G g G^T (g: each lane of X's 3x3 kernel, row-major; point p
// of lane l at u[p * stride + l]).
template <class F, class X>
[[gnu::always_inline]] inline void input_transform(const X (&t)[F::n][F::n], X (&d)[F::n * F::n]) {
  separably<F::n, F::n>([](const auto& a, auto& o) { F::input_step(a, o); }, [&](std::size_t y, std::size_t x) { return t[y][x]; },
                        [&](std::size_t y, std::size_t x, const X& v) { d[y * F::n + x] = v; });
}

template <class F, class X>
[[gnu::always_inline]] inline void output_transform(const X (&p)[F::n * F::n], X (&s)[F::m][F::m]) {
  separably<F::n, F::m>([](const auto& a, auto& o) { F::output_step(a, o); }, [&](std::size_t y, std::size_t x) { return p[y * F::n + x]; },
                        [&](std::size_t y, std::size_t x, const X& v) { s[y][x] = v; });
}

template <class F, class X, class T>
void kernel_transform(const X (&g)[9], T* u, std::size_t stride) {
  separably<3, F::n>([](const auto& a, auto& o) { F::kernel_step(a, o); }, [&](std::size_t y, std::size_t x) { return g[y * 3 + x]; },
                     [&](std::size_t y, std::size_t x, const X& v) { store_as(u + (y * F::n + x) * stride, v); });
}

}  // namespace typenet::detail

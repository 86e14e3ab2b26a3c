// Winograd's F(2x2, 3x3) and F(4x4, 3x3) (kernels/winograd.hpp) against the
// correlation summed term by term in long double, on the shapes that exercise
// their edges: padding, output sizes that end in partial tiles, more output
// channels than one register group, fewer input channels than output channels and
// the reverse; an epilogue; the weight gradient in both.
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <vector>
#include <typenet/core/pack.hpp>
#include <typenet/core/random.hpp>
#include <typenet/kernels/correlate.hpp>

namespace {

using V = typenet::pack<float, typenet::default_lanes<float>>;
constexpr std::size_t lanes = typenet::lanes_of<V>;

struct worst {
  double error = 0;  // |winograd - exact| / sum of |terms|, over every output
  std::size_t outputs = 0;
};

template <std::size_t M, std::size_t Cin, std::size_t H, std::size_t W, std::size_t Cout, std::size_t Pad, class Functions>
worst against_exact(const Functions& functions, double (*after)(std::size_t co, double)) {
  using winograd = typenet::detail::winograd_3x3<M, Cin, H, W, Cout, Pad>;
  constexpr std::size_t ho = winograd::hout, wo = winograd::wout;
  typenet::random_sequence rng(Cin * 1000 + H * 10 + Pad);
  std::vector<V> in(Cin * H * W), out(Cout * ho * wo);
  std::vector<float> w(Cout * Cin * 9);
  for (V& v : in)
    for (std::size_t l = 0; l < lanes; ++l) v[l] = static_cast<float>(rng.uniform(-2, 2));
  for (float& x : w) x = static_cast<float>(rng.uniform(-1, 1));
  std::vector<float> prepared(winograd::prepared_size);
  winograd::prepare(w.data(), prepared.data());
  winograd::forward(in.data(), prepared.data(), out.data(), false, functions);

  worst r;
  for (std::size_t co = 0; co < Cout; ++co)
    for (std::size_t y = 0; y < ho; ++y)
      for (std::size_t x = 0; x < wo; ++x)
        for (std::size_t l = 0; l < lanes; ++l) {
          long double sum = 0, magnitude = 0;
          for (std::size_t ci = 0; ci < Cin; ++ci)
            for (std::size_t ky = 0; ky < 3; ++ky)
              for (std::size_t kx = 0; kx < 3; ++kx) {
                const auto r_ = static_cast<std::ptrdiff_t>(y + ky) - static_cast<std::ptrdiff_t>(Pad);
                const auto c_ = static_cast<std::ptrdiff_t>(x + kx) - static_cast<std::ptrdiff_t>(Pad);
                if (r_ < 0 || c_ < 0 || r_ >= static_cast<std::ptrdiff_t>(H) || c_ >= static_cast<std::ptrdiff_t>(W)) continue;
                const long double term = static_cast<long double>(w[(co * Cin + ci) * 9 + ky * 3 + kx]) *
                                         in[(ci * H + static_cast<std::size_t>(r_)) * W + static_cast<std::size_t>(c_)][l];
                sum += term;
                magnitude += std::fabs(term);
              }
          const double exact = after(co, static_cast<double>(sum));
          const double got = out[(co * ho + y) * wo + x][l];
          r.error = std::max(r.error, std::fabs(got - exact) / std::max(1e-30, static_cast<double>(magnitude)));
          ++r.outputs;
        }
  return r;
}

double unchanged(std::size_t, double x) { return x; }

template <std::size_t M, std::size_t Cin, std::size_t H, std::size_t W, std::size_t Cout, std::size_t Pad>
void check_shape() {
  const worst r = against_exact<M, Cin, H, W, Cout, Pad>(typenet::no_epilogue{}, unchanged);
  BOOST_TEST_MESSAGE("F(" << M << "x" << M << "), " << Cin << "x" << H << "x" << W << " -> " << Cout << ", pad " << Pad
                          << ": worst relative error " << r.error << " over " << r.outputs << " outputs");
  constexpr std::size_t ho = H + 2 * Pad - 2, wo = W + 2 * Pad - 2;
  BOOST_TEST(r.outputs == Cout * ho * wo * lanes);
  // Float's rounding of sums of ~9 Cin terms and of the transforms' operations:
  // F(2x2)'s coefficients (+-1, 1/2) add little to it (3.7e-7 at worst here). F(4x4)'s
  // (up to 8 and 1/24) add about ten times more, and near a border of 2 an output
  // has few terms while its tile's transform mixes in its neighbours' larger values
  // (1.4e-5 at worst here). A wrong tap or a dropped tile is off by the size of a
  // term, 1e-2 or more.
  BOOST_TEST(r.error < (M == 2 ? 2e-6 : 1e-4));
}

// The weight gradient: dw[co][ci][ky][kx] = sum over samples, y, x of d_out[co][y][x] * in[ci][y + ky][x + kx].
template <std::size_t M, std::size_t Cin, std::size_t H, std::size_t W, std::size_t Cout>
void check_weight_gradient() {
  using winograd = typenet::detail::winograd_3x3<M, Cin, H, W, Cout, 0>;
  constexpr std::size_t ho = winograd::hout, wo = winograd::wout;
  typenet::random_sequence rng(Cin * 1000 + H * 10 + Cout);
  std::vector<V> in(Cin * H * W), d_out(Cout * ho * wo), scratch(winograd::transposed_rows);
  for (V& v : in)
    for (std::size_t l = 0; l < lanes; ++l) v[l] = static_cast<float>(rng.uniform(-2, 2));
  for (V& v : d_out)
    for (std::size_t l = 0; l < lanes; ++l) v[l] = static_cast<float>(rng.uniform(-1, 1));
  std::vector<float> dw(Cout * Cin * 9, 0.5f);  // added to, as a block's gradient slice is
  winograd::weight_gradient(in.data(), d_out.data(), dw.data(), scratch.data());
  double worst = 0;
  for (std::size_t co = 0; co < Cout; ++co)
    for (std::size_t ci = 0; ci < Cin; ++ci)
      for (std::size_t k = 0; k < 9; ++k) {
        long double sum = 0.5L, magnitude = 0.5L;
        for (std::size_t y = 0; y < ho; ++y)
          for (std::size_t x = 0; x < wo; ++x)
            for (std::size_t l = 0; l < lanes; ++l) {
              const long double term = static_cast<long double>(d_out[(co * ho + y) * wo + x][l]) *
                                       in[(ci * H + y + k / 3) * W + x + k % 3][l];
              sum += term;
              magnitude += std::fabs(term);
            }
        worst = std::max(worst, std::fabs(dw[(co * Cin + ci) * 9 + k] - static_cast<double>(sum)) / static_cast<double>(magnitude));
      }
  BOOST_TEST_MESSAGE("F(" << M << "x" << M << "), " << Cin << "x" << H << "x" << W << " -> " << Cout
                          << ": weight gradient's worst relative error " << worst);
  BOOST_TEST(worst < (M == 2 ? 2e-6 : 2e-5));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(winograd_3x3)

BOOST_AUTO_TEST_CASE(weight_gradient_equals_the_direct_sum) {
  check_weight_gradient<2, 16, 26, 26, 16>();  // ref11k's largest layer
  check_weight_gradient<2, 16, 10, 10, 16>();
  check_weight_gradient<2, 16, 7, 8, 9>();     // a 5x6 output: half tiles in the last row; 9 channels
  check_weight_gradient<2, 32, 6, 6, 20>();    // two registers of input channels, output groups of 10
  check_weight_gradient<4, 16, 26, 26, 16>();  // F(4x4) where training takes it
  check_weight_gradient<4, 16, 11, 9, 9>();    // a 9x7 output: partial tiles in both directions
  check_weight_gradient<4, 32, 6, 6, 20>();
}

BOOST_AUTO_TEST_CASE(equals_the_direct_correlation_on_ref11k_shapes) {
  check_shape<2, 16, 26, 26, 16, 0>();  // the largest layer
  check_shape<2, 16, 24, 24, 16, 2>();  // its input gradient: a border of 2
  check_shape<2, 10, 12, 12, 16, 0>();  // fewer input channels than output
  check_shape<2, 16, 10, 10, 10, 2>();  // more
  check_shape<2, 16, 6, 6, 16, 1>();    // padding 1 on a 6x6 map
  // F(4x4) where training takes it (correlate.hpp): whole tiles, and 26 x 26 in 7 x 7 tiles.
  check_shape<4, 16, 26, 26, 16, 0>();
  check_shape<4, 16, 24, 24, 16, 2>();
  check_shape<4, 16, 10, 10, 10, 2>();
  check_shape<4, 16, 6, 6, 16, 2>();
}

BOOST_AUTO_TEST_CASE(equals_the_direct_correlation_at_odd_sizes_and_many_channels) {
  check_shape<2, 8, 7, 7, 9, 0>();    // a 5x5 output: half tiles in the last row and column
  check_shape<2, 8, 9, 8, 40, 1>();   // 9x8: odd rows only; 40 channels: several register groups
  check_shape<2, 12, 3, 3, 8, 0>();   // a single output pixel
  check_shape<2, 9, 4, 5, 33, 2>();   // 6x7 with a border of 2, 33 channels
  check_shape<4, 8, 7, 7, 9, 0>();    // 5x5: one whole tile and one of a single row or column
  check_shape<4, 8, 9, 8, 40, 1>();   // 9x8: rows 1, 2 and 3 past a whole tile
  check_shape<4, 12, 3, 3, 8, 0>();   // a single output pixel
  check_shape<4, 9, 4, 5, 33, 2>();   // 6x7 with a border of 2, 33 channels
}

BOOST_AUTO_TEST_CASE(applies_each_channels_epilogue_to_its_sums) {
  // out = relu(2 * sum + co): the channel and the sum both reach the function.
  const auto functions = [] {
    std::array<std::function<V(std::size_t, V)>, 9> f;
    for (std::size_t co = 0; co < f.size(); ++co)
      f[co] = [co](std::size_t, V x) {
        const V y = x * 2.0f + static_cast<float>(co);
        return y > 0 ? y : V{};
      };
    return f;
  }();
  const auto relu_of_twice_plus_channel = [](std::size_t co, double x) { return std::max(0.0, 2 * x + static_cast<double>(co)); };
  const worst r2 = against_exact<2, 8, 7, 7, 9, 1>(functions, relu_of_twice_plus_channel);
  const worst r4 = against_exact<4, 8, 7, 7, 9, 1>(functions, relu_of_twice_plus_channel);
  BOOST_TEST(r2.outputs == 9u * 7 * 7 * lanes);
  BOOST_TEST(r4.outputs == 9u * 7 * 7 * lanes);
  // Relative to the sum's terms, before the doubling.
  BOOST_TEST(r2.error < 1e-5);
  BOOST_TEST(r4.error < 1e-4);
}

BOOST_AUTO_TEST_SUITE_END()

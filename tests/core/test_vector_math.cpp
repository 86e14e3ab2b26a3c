// exp_of and tanh_of on packs of floats against the standard library, over every
// float of their useful range at a fine step: within 2 ulp (relative 2.4e-7, or
// an absolute 1.2e-7 near tanh's zero), tanh odd and at +-1 past 9.5, exp's range
// clamped at both ends, and NaN in, NaN out.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <typenet/core/vector_math.hpp>

using namespace typenet;
using V = pack<float, default_lanes<float>>;

namespace {

// The largest error of `f` over [low, high] at `step`, each lane its own value, relative to
// the standard function's value, or absolute where that is below `absolute_below`.
template <class F, class G>
double largest_error(F f, G reference, float low, float high, float step, double absolute_below) {
  double worst = 0;
  for (float start = low; start <= high; start += step * lanes_of<V>) {
    V x;
    for (std::size_t i = 0; i < lanes_of<V>; ++i) x[i] = std::min(start + step * static_cast<float>(i), high);
    const V y = f(x);
    for (std::size_t i = 0; i < lanes_of<V>; ++i) {
      const double exact = reference(static_cast<double>(x[i]));
      worst = std::max(worst, std::abs(y[i] - exact) / std::max(std::abs(exact), absolute_below));
    }
  }
  return worst;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(vector_math)

BOOST_AUTO_TEST_CASE(exp_of_is_within_two_ulp_of_exp) {
  const double error = largest_error([](V x) { return exp_of(x); }, [](double x) { return std::exp(x); },
                                     -87.0f, 88.0f, 1.0f / 1024, 0);
  BOOST_TEST(error < 2.4e-7, "largest relative error " << error);
}

BOOST_AUTO_TEST_CASE(tanh_of_is_within_two_ulp_of_tanh) {
  const double error = largest_error([](V x) { return tanh_of(x); }, [](double x) { return std::tanh(x); },
                                     -12.0f, 12.0f, 1.0f / 8192, 0.5);
  BOOST_TEST(error < 2.4e-7, "largest error " << error);
  // Tiny values keep their digits (the odd polynomial), not 1 - 2 / (e^2x + 1)'s.
  const double small = largest_error([](V x) { return tanh_of(x); }, [](double x) { return std::tanh(x); },
                                     1e-6f, 1e-3f, 1e-6f, 0);
  BOOST_TEST(small < 2.4e-7, "largest relative error near 0: " << small);
}

BOOST_AUTO_TEST_CASE(tanh_of_is_odd_and_saturates) {
  V x{}, minus{};
  for (std::size_t i = 0; i < lanes_of<V>; ++i) x[i] = 0.3f * static_cast<float>(i), minus[i] = -x[i];
  const V y = tanh_of(x), y_minus = tanh_of(minus);
  for (std::size_t i = 0; i < lanes_of<V>; ++i) BOOST_TEST(y_minus[i] == -y[i]);
  BOOST_TEST(y[0] == 0.0f);
  const V far = tanh_of(V{} + 50.0f), far_minus = tanh_of(V{} - 1e30f);
  BOOST_TEST(far[0] == 1.0f);
  BOOST_TEST(far_minus[0] == -1.0f);
}

BOOST_AUTO_TEST_CASE(exp_of_clamps_its_range_and_passes_nan_on) {
  const V huge = exp_of(V{} + 1000.0f), tiny = exp_of(V{} - 1000.0f);
  BOOST_TEST(std::isfinite(huge[0]));
  BOOST_TEST(huge[0] > 1e38f);
  BOOST_TEST(tiny[0] >= 0.0f);
  BOOST_TEST(tiny[0] < 1e-37f);
  BOOST_TEST(std::isnan(exp_of(V{} + std::numeric_limits<float>::quiet_NaN())[0]));
  BOOST_TEST(std::isnan(tanh_of(V{} + std::numeric_limits<float>::quiet_NaN())[0]));
}

BOOST_AUTO_TEST_SUITE_END()

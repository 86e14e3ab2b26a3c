// The course's worked example: the library's gradients are the closed-form ones,
// and gradient descent lowers E_total at every learning rate of the course.
#include <boost/test/unit_test.hpp>

#include "../../examples/backprop/backprop.hpp"

BOOST_AUTO_TEST_CASE(forward_values_match_the_hand_computation) {
  const auto v = backprop::work();
  // h1 = 0.15 * 0.05 + 0.2 * 0.1 = 0.0275; h2 = 0.25 * 0.05 + 0.3 * 0.1 = 0.0425
  BOOST_TEST(v.h1 == 0.0275, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(v.h2 == 0.0425, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(v.a_h1 == 1 / (1 + std::exp(-0.0275)), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(v.o1 == 0.4 * v.a_h1 + 0.45 * v.a_h2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(v.e_total == v.e1 + v.e2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(std::abs(v.e_total - 0.242519857348) < 1e-12);  // the course's spreadsheet
}

BOOST_AUTO_TEST_CASE(gradients_equal_the_closed_form) {
  const auto v = backprop::work();
  for (std::size_t i = 0; i < 8; ++i) {
    BOOST_TEST_CONTEXT("dE/dW" << i + 1) { BOOST_TEST(std::abs(v.gradient[i] - v.closed_form[i]) < 1e-12); }
  }
  BOOST_TEST(std::abs(v.gradient[4] - 0.072157072912) < 1e-12);  // the largest: W5 pulls a_o1 towards 0.01
}

BOOST_AUTO_TEST_CASE(error_falls_for_every_learning_rate) {
  double previous_final = 1;
  for (double lr : backprop::learning_rates) {
    const auto curve = backprop::error_curve(lr, 100);
    BOOST_TEST_CONTEXT("lr " << lr) {
      for (std::size_t i = 1; i < curve.size(); ++i) BOOST_TEST(curve[i] < curve[i - 1]);
      BOOST_TEST(curve.back() < previous_final);  // larger steps get further in 100 iterations
    }
    previous_final = curve.back();
  }
}

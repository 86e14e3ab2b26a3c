// Losses, and whole networks, against central differences in double (each layer
// alone is checked by test_layers). Batches of 11 samples: one full block of 8
// lanes and a partial one, so that padding lanes are checked too.
#include <boost/test/unit_test.hpp>
#include <typenet/testing/gradient_check.hpp>
#include <typenet/typenet.hpp>

using namespace typenet;
using typenet::testing::check_gradients;

namespace {
constexpr std::size_t batch = 11;
constexpr double tolerance = 1e-6;

template <class Net, class Loss = nll_loss, std::size_t Lanes = default_lanes<double>>
void expect_exact_gradients() {
  const auto r = check_gradients<Net, Loss, Lanes>(batch);
  BOOST_TEST_MESSAGE("checked " << r.checked << " parameters, max relative error " << r.max_relative_error);
  BOOST_TEST(r.checked == Net::parameter_count);
  BOOST_TEST(r.largest_gradient > 1e-3);  // a network whose gradient vanished checks nothing
  BOOST_TEST(r.max_relative_error < tolerance);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradients)

// First and last: no segment before or after batch norm gathers its per-block sums.
BOOST_AUTO_TEST_CASE(batch_norm_first_and_last) {
  expect_exact_gradients<network<input<2, 4, 4>, batch_norm, conv<3, 3>, flatten, dense<4>, batch_norm>, mse_loss>();
}
BOOST_AUTO_TEST_CASE(softmax_with_l2) { expect_exact_gradients<network<input<6>, dense<4>, softmax>, l2_loss>(); }
BOOST_AUTO_TEST_CASE(sigmoid_with_mse) { expect_exact_gradients<network<input<6>, dense<4, bias::on>, typenet::sigmoid>, mse_loss>(); }
BOOST_AUTO_TEST_CASE(cross_entropy_on_raw_scores) {
  expect_exact_gradients<network<input<6>, dense<4, bias::on>>, cross_entropy>();
}

using whole_conv_network = network<input<1, 10, 10>, conv<4, 3>, batch_norm, typenet::relu, dropout<0.1>, max_pool<2>,
                                   conv<3, 1>, conv<4, 3, 1, 1>, batch_norm, typenet::relu, typenet::global_avg_pool,
                                   dense<3>, log_softmax>;
BOOST_AUTO_TEST_CASE(whole_conv_network_in_blocks_of_samples) { expect_exact_gradients<whole_conv_network>(); }
// Blocks of one sample: the convolutions vectorise over pixels instead (wider
// than a register, 18 columns, so a row takes two).
BOOST_AUTO_TEST_CASE(whole_conv_network_one_sample_at_a_time) {
  expect_exact_gradients<network<input<2, 20, 20>, conv<5, 3>, batch_norm, typenet::relu, dropout<0.1>, max_pool<2>,
                                 conv<4, 3, 1, 1>, typenet::global_avg_pool, dense<3>, log_softmax>,
                         nll_loss, 1>();
}

BOOST_AUTO_TEST_SUITE_END()

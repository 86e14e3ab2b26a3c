// Every layer, bound to a shape, against the layer contract and central
// differences (typenet::testing::check_layer): a new layer gets its checks by
// being listed once in `layers` below.
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <limits>
#include <string_view>
#include <tuple>
#include <vector>
#include <typenet/testing/check_layer.hpp>
#include <typenet/typenet.hpp>

#include "square_layer.hpp"

namespace {

using tests::square;

template <class Layer, class Shape>
struct bound_to {
  using layer = Layer;
  using shape = Shape;
};

using namespace typenet;
using layers = std::tuple<
    bound_to<conv<3, 3>, shape<2, 6, 6>>,
    bound_to<conv<3, 3, 1, 1, bias::on>, shape<2, 5, 5>>,   // padding and bias
    bound_to<conv<3, 3, 2>, shape<2, 7, 7>>,                // stride
    bound_to<conv<2, 3, 2, 1>, shape<1, 8, 8>>,             // a stride that leaves a remainder
    bound_to<conv<6, 1>, shape<5, 3, 3>>,                   // 1x1 transition
    bound_to<conv<9, 5>, shape<6, 7, 7>>,                   // many channels
    bound_to<conv<10, 3, 1, 1>, shape<8, 7, 7>>,            // Winograd's, forward and backward, odd sizes
    bound_to<conv<4, 3>, shape<16, 7, 6>>,                  // and its weight gradient (16 input channels)
    bound_to<depthwise_conv<3>, shape<3, 6, 6>>,
    bound_to<depthwise_conv<3, 2, 1>, shape<2, 7, 7>>,      // stride and padding
    bound_to<dense<6>, shape<7>>,
    bound_to<dense<5, bias::on>, shape<7>>,
    bound_to<batch_norm, shape<3, 4, 4>>,
    bound_to<batch_norm, shape<6>>,
    bound_to<max_pool<2>, shape<2, 6, 6>>,
    bound_to<avg_pool<3>, shape<2, 6, 6>>,
    bound_to<global_avg_pool, shape<3, 5, 4>>,
    bound_to<flatten, shape<2, 3, 3>>,
    bound_to<dropout<0.3>, shape<12>>,
    bound_to<relu, shape<9>>,
    bound_to<sigmoid, shape<9>>,
    bound_to<typenet::tanh, shape<9>>,
    bound_to<softmax, shape<6>>,
    bound_to<log_softmax, shape<6>>,
    bound_to<square, shape<2, 3, 3>>>;

}  // namespace

BOOST_AUTO_TEST_SUITE(every_layer)

BOOST_AUTO_TEST_CASE_TEMPLATE(passes_check_layer, Case, layers) {
  const auto r = typenet::testing::check_layer<typename Case::layer, typename Case::shape>();
  BOOST_TEST_MESSAGE(Case::layer::name << ": checked " << r.checked << ", max relative error " << r.max_relative_error);
  BOOST_TEST(r.checked == r.expected);
  BOOST_TEST(r.largest_gradient > 1e-3);  // a gradient that vanished checks nothing
  BOOST_TEST(r.max_relative_error < 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()

// The contract is a concept: what a layer lacks, the compiler names.
static_assert(typenet::bound_layer<square::bind<typenet::shape<1, 2, 2>>>);
static_assert(typenet::pointwise_layer<typenet::relu::bind<typenet::shape<4>>>);
static_assert(typenet::pointwise_gradient_layer<typenet::relu::bind<typenet::shape<4>>>);
static_assert(typenet::pointwise_layer<typenet::batch_norm::bind<typenet::shape<4>>>);
static_assert(!typenet::pointwise_gradient_layer<typenet::batch_norm::bind<typenet::shape<4>>>);
static_assert(typenet::batch_statistics_layer<typenet::batch_norm::bind<typenet::shape<4>>>);
static_assert(!typenet::batch_statistics_layer<typenet::conv<2, 1>::bind<typenet::shape<1, 2, 2>>>);
static_assert(!typenet::layer_definition<int>);

// Max-pool gives its input gradient three ways: backward's whole map, one element
// at a time (input_gradient_at, for the chain below it), and from the winning taps
// it kept when the chain ran into its windows (forward_keeping_winners). All three
// give the gradient to the first maximum of each window, ties and NaN included.
BOOST_AUTO_TEST_CASE(max_pool_gives_the_same_input_gradient_three_ways) {
  namespace tt = boost::test_tools;
  using pool = max_pool<2>::bind<shape<2, 4, 4>>;
  using V = pack<float, 4>;
  constexpr float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<V> in(pool::input_shape::size), out(pool::output_shape::size), d_out(out.size()), d_in(in.size());
  // Lane 0: all distinct; lane 1: every window tied (a map of zeros, as after relu);
  // lane 2: ties between some taps only; lane 3: a NaN in some windows.
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = V{static_cast<float>((i * 7) % 16), 0.0f, static_cast<float>(i % 3 == 0), i % 5 == 1 ? nan : 1.0f};
  for (std::size_t o = 0; o < out.size(); ++o) d_out[o] = V{} + static_cast<float>(o + 1);
  block_args<V, float> a{};
  a.in = in.data(), a.out = out.data(), a.d_out = d_out.data(), a.d_in = d_in.data();
  pool::forward(a);
  pool::backward(a);

  std::vector<V> kept_out(out.size()), winners(in.size());
  block_args<V, float> fused = a;
  fused.out = kept_out.data();
  for (std::size_t ch = 0; ch < 2; ++ch) pool::forward_keeping_winners(fused, winners.data(), ch, [&](std::size_t i) { return in[i]; });
  BOOST_TEST(std::memcmp(kept_out.data(), out.data(), out.size() * sizeof(V)) == 0);
  fused.in = winners.data();
  const auto lanes = [](V v) { return std::vector<float>{v[0], v[1], v[2], v[3]}; };
  for (std::size_t i = 0; i < in.size(); ++i) {
    BOOST_TEST(lanes(pool::input_gradient_at(a, i)) == lanes(d_in[i]), tt::per_element());
    BOOST_TEST(lanes(pool::input_gradient_from_winners(fused, i)) == lanes(d_in[i]), tt::per_element());
  }
  // Each window of lane 1 gives its gradient to its first tap alone.
  BOOST_TEST(lanes(d_in[0])[1] == 1.0f);
  BOOST_TEST(lanes(d_in[1])[1] == 0.0f);
}

// Every layer, bound to a shape, against the layer contract and central
// differences (typenet::testing::check_layer): a new layer gets its checks by
// being listed once in `layers` below.
#include <boost/test/unit_test.hpp>
#include <string_view>
#include <tuple>
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

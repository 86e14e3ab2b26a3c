// Networks that must not compile; tests/CMakeLists.txt compiles this file once
// per case (-DCASE_...) and expects the error named there.
#include <typenet/typenet.hpp>

using namespace typenet;

#if defined(CASE_OVER_BUDGET)
using net = network<input<20'001>, dense<1>>;  // 20,001 parameters
static_assert(net::parameter_count < 20'000);

#elif defined(CASE_BUDGET_RULE)
using net = checked<network<input<20'001>, dense<1>>, rules::max_parameters<20'000>>;
static_assert(net::output_size == 1);

#elif defined(CASE_KERNEL_LARGER_THAN_INPUT)
using net = network<input<1, 8, 8>, conv<4, 3>, max_pool<2>, conv<8, 5>, global_avg_pool>;
static_assert(net::output_size == 8);

#elif defined(CASE_POOL_DOES_NOT_DIVIDE)
using net = network<input<1, 28, 28>, conv<4, 4>, max_pool<2>>;  // 25x25 does not halve
static_assert(net::output_size > 0);

#elif defined(CASE_DENSE_ON_A_MAP)
using net = network<input<1, 28, 28>, conv<16, 3>, dense<10>>;
static_assert(net::output_size == 10);

#elif defined(CASE_RECEPTIVE_FIELD)
// The 1x1 convolution predicts from a 5x5 view; the pooling after it cannot help.
using net = checked<network<input<1, 28, 28>, conv<8, 3>, relu, conv<8, 3>, relu, conv<10, 1>, global_avg_pool, log_softmax>,
                    rules::receptive_field_covers_input>;
static_assert(net::output_size == 10);

#elif defined(CASE_MAX_POOL_NEAR_OUTPUT)
using net = checked<network<input<1, 8, 8>, conv<8, 3>, relu, max_pool<2>, flatten, dense<10>, log_softmax>,
                    rules::no_max_pool_near_output<4>>;
static_assert(net::output_size == 10);

#elif defined(CASE_BATCH_NORM_BEFORE_OUTPUT)
using net = checked<network<input<1, 8, 8>, conv<8, 3>, global_avg_pool, batch_norm, dense<10>, log_softmax>,
                    rules::no_batch_norm_before_output>;
static_assert(net::output_size == 10);

#endif

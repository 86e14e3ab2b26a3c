// The compile-time facts of networks: shapes, parameter counts and offsets,
// receptive field, multiply-adds, rules, and the summary table.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <type_traits>
#include <typenet/typenet.hpp>

#include "../../examples/ref11k.hpp"

using namespace typenet;
using examples::ref11k;

// ref11k, the course's reference network: every fact worked out by hand.
static_assert(ref11k::parameter_count == 11'312);
static_assert(ref11k::receptive_field == 32);
static_assert(ref11k::output_size == 10);
static_assert(ref11k::buffer_count == 6 * 32);  // running mean and variance of 6 batch norms of 16 channels
static_assert(ref11k::depth == 29);
static_assert(std::is_same_v<ref11k::output_shape, shape<10>>);

// Multiply-adds of one image: conv out_channels * in_channels * k * k * out_pixels,
// dense 16 * 10, batch norm one per element.
constexpr std::size_t ref11k_conv_macs = 16 * 1 * 9 * 26 * 26      // 97,344
                                         + 16 * 16 * 9 * 24 * 24   // 1,327,104
                                         + 10 * 16 * 1 * 12 * 12   // 23,040
                                         + 16 * 10 * 9 * 10 * 10   // 144,000
                                         + 16 * 16 * 9 * 8 * 8     // 147,456
                                         + 16 * 16 * 9 * 6 * 6 * 2 // 165,888
                                         + 16 * 10;                // 160
constexpr std::size_t ref11k_batch_norm_elements = 16 * (26 * 26 + 24 * 24 + 10 * 10 + 8 * 8 + 6 * 6 + 6 * 6);
static_assert(ref11k_conv_macs == 1'904'992);
static_assert(ref11k::multiply_adds == ref11k_conv_macs + ref11k_batch_norm_elements);
static_assert(ref11k::multiply_adds == 1'928'800);

// Layer by layer: output shapes, receptive field and jump as the summary prints them.
static_assert(ref11k::facts[0].output_shape == dynamic_shape{16, 26, 26});
static_assert(ref11k::facts[0].receptive_field == 3 && ref11k::facts[0].jump == 1);
static_assert(ref11k::facts[4].output_shape == dynamic_shape{16, 24, 24});
static_assert(ref11k::facts[4].receptive_field == 5);
static_assert(ref11k::facts[8].name == "max_pool" && ref11k::facts[8].receptive_field == 6 && ref11k::facts[8].jump == 2);
static_assert(ref11k::facts[9].output_shape == dynamic_shape{10, 12, 12});
static_assert(ref11k::facts[9].parameter_count == 160 && ref11k::facts[9].receptive_field == 6);
static_assert(ref11k::facts[22].output_shape == dynamic_shape{16, 6, 6});  // padding 1 keeps 6x6
static_assert(ref11k::facts[22].receptive_field == 22);
static_assert(ref11k::facts[26].name == "global_avg_pool" && ref11k::facts[26].receptive_field == 32);
static_assert(ref11k::facts[26].jump == 12);

// Parameters of every layer sit one after the other in the flat vector.
static_assert(ref11k::parameter_offset<0> == 0);
static_assert(ref11k::parameter_offset<1> == 144);                 // batch norm after conv 1->16
static_assert(ref11k::parameter_offset<4> == 144 + 32);            // second conv
static_assert(ref11k::parameter_offset<27> == 11'312 - 160);      // the dense layer is last
static_assert(ref11k::buffer_offset<5> == 32);
static_assert(ref11k::prediction_layer == 27);

// Memory: batch norm, relu and dropout form a chain (one pass, values in
// registers), so neither batch norm's output nor relu's is stored; batch norm's
// input stays for its backward and for the chain's recomputation.
static_assert(ref11k::facts[1].feeds_chain && ref11k::facts[2].feeds_chain && !ref11k::facts[3].feeds_chain);
static_assert(!ref11k::facts[1].overwrites_input && !ref11k::facts[3].overwrites_input);
static_assert(!ref11k::facts[0].feeds_chain && !ref11k::facts[8].feeds_chain);  // conv, max-pool
static_assert(ref11k::activation_size ==
              784 + 99'012 - 2 * 16 * (26 * 26 + 24 * 24 + 10 * 10 + 8 * 8 + 6 * 6 + 6 * 6));

// The course's rules hold for it.
using checked_ref11k = checked<ref11k, rules::max_parameters<20'000>, rules::receptive_field_covers_input,
                               rules::no_max_pool_near_output<10>, rules::no_batch_norm_before_output>;
static_assert(checked_ref11k::parameter_count == 11'312);

// Shapes through other layers.
static_assert(std::is_same_v<network<input<3, 9, 9>, conv<4, 3, 2>>::output_shape, shape<4, 4, 4>>);
static_assert(std::is_same_v<network<input<3, 8, 8>, conv<4, 3, 2, 1>>::output_shape, shape<4, 4, 4>>);
static_assert(std::is_same_v<network<input<3, 8, 8>, avg_pool<4>>::output_shape, shape<3, 2, 2>>);
static_assert(std::is_same_v<network<input<3, 4, 5>, flatten>::output_shape, shape<60>>);
static_assert(std::is_same_v<network<input<3, 4, 5>, global_avg_pool>::output_shape, shape<3>>);
static_assert(network<input<3, 8, 8>, conv<4, 3, 1, 1, bias::on>>::parameter_count == 4 * 3 * 9 + 4);
static_assert(network<input<7>, dense<5, bias::on>>::parameter_count == 40);
static_assert(network<input<7>, dense<5, bias::on>>::facts[0].multiply_adds == 35);
// Receptive field with a stride: 3, then (3 - 1) * 2 more for the second conv.
static_assert(network<input<1, 16, 16>, conv<2, 3, 2>, conv<2, 3>>::receptive_field == 7);
// A depthwise conv keeps the channels, a kernel each, and counts as a kernel for the receptive field.
using separable = network<input<6, 9, 9>, depthwise_conv<3, 2, 1>, conv<4, 1>>;
static_assert(std::is_same_v<separable::output_shape, shape<4, 5, 5>>);
static_assert(separable::facts[0].parameter_count == 6 * 3 * 3);
static_assert(separable::facts[0].multiply_adds == 6 * 3 * 3 * 5 * 5);
static_assert(separable::receptive_field == 3);

BOOST_AUTO_TEST_CASE(summary_names_a_depthwise_conv) {
  const std::string text = summary<separable>();
  BOOST_TEST(text.find("0    depthwise_conv   6x5x5                54      3     2        1,350") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(summary_prints_every_layer_and_the_totals) {
  const std::string text = summary<ref11k>();
  BOOST_TEST(text.find("parameters: 11,312 trainable, 192 buffers") != std::string::npos);
  BOOST_TEST(text.find("receptive field: 32 pixels; multiply-adds per sample: 1,928,800") != std::string::npos);
  BOOST_TEST(text.find("4    conv             16x24x24          2,304      5     1    1,327,104") != std::string::npos);
  BOOST_TEST(text.find("26   global_avg_pool  16                    0     32    12            0") != std::string::npos);
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 1 + 1 + 1 + 29 + 1 + 3);
}

BOOST_AUTO_TEST_CASE(tensor_names_follow_pytorch) {
  using conv_layer = ref11k::layer<0>;
  BOOST_TEST(conv_layer::parameter_tensors[0].name == "weight");
  BOOST_TEST(conv_layer::parameter_tensors[0].size() == 144u);
  using norm = ref11k::layer<1>;
  BOOST_TEST(norm::buffer_tensors[1].name == "running_var");
  using head = ref11k::layer<27>;
  BOOST_TEST(head::parameter_tensors[0].rank == 2u);
  BOOST_TEST(head::parameter_tensors[0].dims[1] == 16u);
}

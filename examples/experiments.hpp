#pragma once
// The course's observations as networks anyone can retrain:
//   light_net:  under 4,000 parameters, still >= 98.5% on MNIST;
//   deeper_net and wider_net: the same parameter budget (within 5%, checked
//   below) spent on more layers of fewer channels, or fewer layers of more.
#include <typenet/run/recipe.hpp>
#include <typenet/typenet.hpp>

namespace examples {
using namespace typenet;

using light_net = checked<network<input<1, 28, 28>,
    conv<8, 3>, batch_norm, relu,     // 8x26x26
    conv<8, 3>, batch_norm, relu,     // 8x24x24
    max_pool<2>,                      // 8x12x12
    conv<8, 3>, batch_norm, relu,     // 8x10x10
    conv<8, 3>, batch_norm, relu,     // 8x8x8
    conv<16, 3>, batch_norm, relu,    // 16x6x6
    global_avg_pool, dense<10>, log_softmax>,
    rules::max_parameters<4'000>, rules::receptive_field_covers_input>;

using wider_net = checked<network<input<1, 28, 28>,
    conv<20, 3>, batch_norm, relu,    // 20x26x26
    conv<20, 3>, batch_norm, relu,    // 20x24x24
    max_pool<2>, conv<10, 1>,         // 10x12x12
    conv<20, 3>, batch_norm, relu,    // 20x10x10
    conv<20, 3>, batch_norm, relu,    // 20x8x8
    global_avg_pool, dense<10>, log_softmax>,
    rules::receptive_field_covers_input>;

using deeper_net = checked<network<input<1, 28, 28>,
    conv<13, 3>, batch_norm, relu,    // 13x26x26
    conv<13, 3>, batch_norm, relu,    // 13x24x24
    conv<13, 3>, batch_norm, relu,    // 13x22x22
    max_pool<2>, conv<10, 1>,         // 10x11x11
    conv<13, 3>, batch_norm, relu,    // 13x9x9
    conv<13, 3>, batch_norm, relu,    // 13x7x7
    conv<13, 3>, batch_norm, relu,    // 13x5x5
    conv<13, 3>, batch_norm, relu,    // 13x3x3
    global_avg_pool, dense<10>, log_softmax>,
    rules::receptive_field_covers_input>;

constexpr bool within_percent(std::size_t a, std::size_t b, std::size_t percent) {
  const std::size_t larger = a > b ? a : b, smaller = a > b ? b : a;
  return (larger - smaller) * 100 <= percent * larger;
}
static_assert(light_net::parameter_count < 4'000);
static_assert(within_percent(deeper_net::parameter_count, wider_net::parameter_count, 5),
              "deeper and wider must spend the same parameter budget");
static_assert(deeper_net::depth > wider_net::depth);

// The recipe of the experiments: the MNIST recipe, for fewer epochs.
inline recipe experiment_recipe(std::size_t epochs) {
  recipe o;
  o.epochs = epochs;
  o.augment.rotation_degrees = 7;
  return o;
}

}  // namespace examples

#pragma once
// The frontier of tiny networks: the fewest parameters for an MNIST accuracy
// (issue 15). Each budget is a rule of the type; each network has its own trainer
// and recipe (examples/CMakeLists.txt), and scripts/frontier trains them all for
// seeds 1-3 and draws examples/results/frontier/ from their logs.
//   frontier_8k:   under 8,000 parameters, >= 99.4% at the final epoch of 15
//   frontier_4k:   under 4,000, >= 99.4% at the final epoch of 20
//   frontier_tiny: under 575, >= 98% at the final epoch of 50
//   frontier_tiny_plain: frontier_tiny's budget in plain 3x3 convs, for its ablation
#include <typenet/run/recipe.hpp>
#include <typenet/typenet.hpp>

namespace examples {
using namespace typenet;

// ref11k's shape (examples/ref11k.hpp) at 13 channels, without dropout.
using frontier_8k = checked<network<input<1, 28, 28>,
    conv<13, 3>, batch_norm, relu,        // 13x26x26
    conv<13, 3>, batch_norm, relu,        // 13x24x24
    max_pool<2>, conv<10, 1>,             // 10x12x12
    conv<13, 3>, batch_norm, relu,        // 13x10x10
    conv<13, 3>, batch_norm, relu,        // 13x8x8
    conv<13, 3>, batch_norm, relu,        // 13x6x6
    conv<13, 3, 1, 1>, batch_norm, relu,  // 13x6x6
    global_avg_pool, dense<10>, log_softmax>,
    rules::max_parameters<8'000>, rules::receptive_field_covers_input>;

// Plain 3x3 convs where the maps are large and the channels few; after the pool,
// separable convs (a depthwise 3x3, then a 1x1) of 20 channels: one costs 620
// parameters where a plain 3x3 of 20 channels costs 3,640.
using frontier_4k = checked<network<input<1, 28, 28>,
    conv<8, 3>, batch_norm, relu,                            // 8x26x26
    conv<12, 3>, batch_norm, relu,                           // 12x24x24
    max_pool<2>,                                             // 12x12x12
    depthwise_conv<3>, conv<20, 1>, batch_norm, relu,        // 20x10x10
    depthwise_conv<3>, conv<20, 1>, batch_norm, relu,        // 20x8x8
    depthwise_conv<3>, conv<20, 1>, batch_norm, relu,        // 20x6x6
    depthwise_conv<3, 1, 1>, conv<20, 1>, batch_norm, relu,  // 20x6x6
    global_avg_pool, dense<10>, log_softmax>,
    rules::max_parameters<4'000>, rules::receptive_field_covers_input>;

// Pool early, then separable convs of 8 channels, each followed by tanh: bounded
// features that the next 1x1 mixes, where relu's half-zero ones lose too much at 8
// channels; the last 1x1 makes the ten class maps, averaged into the logits (no
// dense layer).
using frontier_tiny = checked<network<input<1, 28, 28>,
    conv<9, 3, 1, 1>, batch_norm, relu,                      // 9x28x28
    max_pool<2>,                                             // 9x14x14
    depthwise_conv<3>, conv<8, 1>, batch_norm, typenet::tanh,  // 8x12x12
    max_pool<2>,                                             // 8x6x6
    depthwise_conv<3>, conv<8, 1>, batch_norm, typenet::tanh,  // 8x4x4
    depthwise_conv<3>, conv<10, 1>,                          // 10x2x2
    global_avg_pool, log_softmax>,
    rules::max_parameters<575>>;

using frontier_tiny_plain = checked<network<input<1, 28, 28>,
    conv<6, 3, 1, 1>, batch_norm, relu,  // 6x28x28
    max_pool<2>,                         // 6x14x14
    conv<7, 3, 1, 1>, batch_norm, relu,  // 7x14x14
    max_pool<2>,                         // 7x7x7
    conv<10, 1>,                         // 10x7x7
    global_avg_pool, log_softmax>,
    rules::max_parameters<575>>;

// The course's recipe (SGD, one-cycle to 0.05, +-7 degrees of rotation) for `epochs`.
inline recipe frontier_recipe(std::size_t epochs) {
  recipe o;
  o.epochs = epochs;
  o.augment.rotation_degrees = 7;
  return o;
}

// frontier_4k fits its training images better than the test's: shifts of up to 2 pixels too;
// batches of 64 (twice the steps at the same peak) lift its weak seed, 2, past 99.4%.
inline recipe frontier_4k_recipe() {
  recipe o = frontier_recipe(20);
  o.augment.translate_pixels = 2;
  o.batch = 64;
  return o;
}

// frontier_tiny's: batches of 64 and +-5 degrees of rotation, for 50 epochs.
inline recipe frontier_tiny_recipe() {
  recipe o = frontier_recipe(50);
  o.batch = 64;
  o.augment.rotation_degrees = 5;
  return o;
}

}  // namespace examples

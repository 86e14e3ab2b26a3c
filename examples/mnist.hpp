#pragma once
// The course's goal as a type: more than 99.4% on MNIST's 10,000 test images
// with fewer than 20,000 parameters, within 20 epochs. The network is ref11k
// (the course's reference class model): 3x3 convolutions with batch norm, ReLU
// and light dropout, one max-pool with a 1x1 transition after it, global
// average pooling and a 16->10 dense head.
#include <typenet/run/recipe.hpp>

#include "ref11k.hpp"

namespace examples {

using mnist_net = typenet::checked<ref11k,
    typenet::rules::max_parameters<20'000>,          // the course's budget
    typenet::rules::receptive_field_covers_input,    // the head sees the whole digit
    typenet::rules::no_max_pool_near_output<10>,
    typenet::rules::no_batch_norm_before_output>;
static_assert(mnist_net::parameter_count < 20'000);
static_assert(mnist_net::receptive_field >= 28);

// The recipe `mnist` trains with when given no options.
inline typenet::recipe mnist_recipe() {
  typenet::recipe o;
  o.epochs = 20;
  o.batch = 128;
  o.optimizer = "sgd";
  o.lr = 0.05;
  o.schedule = "one-cycle";
  o.augment.rotation_degrees = 7;
  return o;
}

}  // namespace examples

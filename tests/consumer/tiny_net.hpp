#pragma once
// A consumer's own network, declared against the installed typenet.
#include <typenet/typenet.hpp>
#include <typenet/run/recipe.hpp>

namespace consumer {

using namespace typenet;
using tiny_net = checked<network<input<1, 28, 28>,
    conv<8, 3>, batch_norm, relu, max_pool<2>,   // 8x13x13
    conv<8, 3>, batch_norm, relu,                // 8x11x11
    global_avg_pool, dense<10>, log_softmax>,
    rules::max_parameters<1'000>>;
static_assert(tiny_net::parameter_count == 72 + 16 + 576 + 16 + 80);

inline recipe tiny_recipe() {
  recipe o;
  o.epochs = 1;
  o.batch = 64;
  o.train_limit = 2048;
  return o;
}

}  // namespace consumer

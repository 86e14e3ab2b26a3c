#pragma once
// A whole trainer program from a network type, in one line:
//
//   int main(int argc, char** argv) { return typenet::trainer_main<my_net>(argc, argv, my_recipe()); }
//
// or, from CMake, typenet_add_trainer(my_trainer HEADER my_net.hpp NETWORK my_net).
// The program is the compiled run library (typenet::run, link it) driving this
// network's engine through the trainable interface; only the engine is compiled here.
#include <string>

#include "typenet/learn/loss.hpp"
#include "typenet/run/model_trainable.hpp"
#include "typenet/run/recipe.hpp"
#include "typenet/run/trainer.hpp"

namespace typenet {

// `checkpoint_dir` is the default of --checkpoint-dir.
template <class Net, class Loss = nll_loss>
int trainer_main(int argc, char** argv, recipe defaults = {}, std::string checkpoint_dir = "runs/default",
                 const std::string& description = "typenet trainer") {
  run_options options;
  options.checkpoint_dir = std::move(checkpoint_dir);
  return trainer_program(argc, argv, trainable_network_of<Net, Loss>(), std::move(defaults), std::move(options),
                         description);
}

// The same run from C++: train<my_net>(recipe, options).
template <class Net, class Loss = nll_loss>
void train(const recipe& r, const run_options& o) {
  train(trainable_network_of<Net, Loss>(), r, o);
}

}  // namespace typenet

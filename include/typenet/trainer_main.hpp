#pragma once
// A whole trainer program from a network type, in one line:
//
//   int main(int argc, char** argv) { return typenet::trainer_main<my_net>(argc, argv, my_recipe()); }
//
// or, from CMake, typenet_add_trainer(my_trainer HEADER my_net.hpp NETWORK my_net).
#include <cstdio>
#include <exception>
#include <string>

#include "train/command_line.hpp"
#include "train/trainer.hpp"

namespace typenet {

template <class Net, class Loss = nll_loss>
int trainer_main(int argc, char** argv, training_options recipe = {}, const std::string& description = "typenet trainer") {
  int exit_code = 0;
  if (!parse_command_line(argc, argv, recipe, exit_code, description)) return exit_code;
  try {
    if (recipe.evaluate) evaluate<Net, Loss>(recipe, *recipe.evaluate);
    else train<Net, Loss>(recipe);
    return 0;
  } catch (const training_error& e) {
    std::fprintf(stderr, "\nstopped: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  }
}

}  // namespace typenet

#pragma once
// The trainer's command line (CLI11), over a recipe's defaults:
//
//   mnist --epochs 20 --batch 128 --lr 0.05 --schedule one-cycle --seed 2 --threads 2
//   mnist --resume --checkpoint-dir runs/mnist-seed2
//   mnist --evaluate runs/mnist-seed2/best.safetensors
#include <string>

#include "typenet/run/recipe.hpp"

namespace typenet {

// Returns false when the program should stop (help printed, or a bad option, with
// `exit_code` set); otherwise fills `r` and `o`. Each refusal is one line naming the option.
bool parse_command_line(int argc, char** argv, recipe& r, run_options& o, int& exit_code, const std::string& description);

}  // namespace typenet

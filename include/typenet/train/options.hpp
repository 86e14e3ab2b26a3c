#pragma once
// What a training run is told: a network's recommended recipe, overridden by the
// command line. The defaults are the course's reference recipe.
//
//   typenet::training_options o;          // the recipe
//   o.epochs = 5; o.augment.rotation_degrees = 0;
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "../data/augment.hpp"

namespace typenet {

struct training_options {
  std::size_t epochs = 20;
  std::size_t batch = 128;
  std::string optimizer = "sgd";    // sgd | adam | adamw
  double lr = 0.05;                 // the peak, for one-cycle
  std::string schedule = "one-cycle";  // constant | step | one-cycle | cosine
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0;
  std::size_t step_epochs = 5;      // step schedule: multiply by step_gamma every step_epochs
  double step_gamma = 0.1;
  augmentation augment{.rotation_degrees = 7};
  std::uint64_t seed = 1;
  std::size_t threads = 0;          // 0: all cores
  std::optional<std::string> data;  // else TYPENET_DATA, data/, ...
  std::string checkpoint_dir = "runs/default";
  bool resume = false;
  std::size_t stop_after = 0;       // stop after this epoch as if interrupted (0: never); --resume continues
  std::optional<std::string> log;   // default: <checkpoint_dir>/log.csv
  std::size_t train_limit = 0;      // use only the first N training images (0: all), for smoke tests
  std::size_t plot_misclassified = 60;
  std::optional<std::string> evaluate;  // a checkpoint: evaluate it and stop
  std::optional<std::string> misclassified;  // with evaluate: draw the misclassified test images into this PNG
};

}  // namespace typenet

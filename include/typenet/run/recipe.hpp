#pragma once
// What a run learns and how it runs, kept apart. A recipe decides the weights a
// run reaches, so a resumed run must be given the same one; run options say where
// files go and how the work is done, and may change between a run and its resume.
// A network's header offers its recommended recipe; the command line overrides it.
//
//   typenet::recipe r;                        // the course's reference recipe
//   r.epochs = 5;
//   r.augment.rotation_degrees = 0;
//   typenet::run_options where;
//   where.checkpoint_dir = "runs/five-epochs";
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "typenet/data/augment.hpp"
#include "typenet/data/dataset.hpp"

namespace typenet {

struct recipe {
  std::size_t epochs = 20;
  std::size_t batch = 128;
  std::string optimizer = "sgd";       // a name of the optimizer registry: sgd | adam | adamw
  double lr = 0.05;                    // the peak, for one-cycle
  std::string schedule = "one-cycle";  // a name of the schedule registry: constant | step | one-cycle | cosine
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0;
  std::size_t step_epochs = 5;         // step schedule: multiply by step_gamma every step_epochs
  double step_gamma = 0.1;
  augmentation augment{.rotation_degrees = 7};
  std::uint64_t seed = 1;
  std::size_t train_limit = 0;         // train on the first N training images only (0: all), for smoke tests
  std::string init_from;               // start from this state_dict's weights (load_weights), not from `seed`'s
};

struct run_options {
  std::size_t threads = 0;             // 0: all cores; results do not depend on it
  std::optional<std::string> data;     // else $TYPENET_DATA, else the first of data_fallbacks with the files
  // Built where run_options is made (the trainer's translation unit), so an installed
  // trainer falls back to the MNIST copy installed beside it.
  std::vector<std::filesystem::path> data_fallbacks = default_data_dirs();
  std::string checkpoint_dir = "runs/default";
  bool resume = false;
  std::size_t stop_after = 0;          // stop after this epoch as if interrupted (0: never); --resume continues
  std::optional<std::string> log;      // default: <checkpoint_dir>/log.csv
  std::size_t plot_misclassified = 60; // at most this many images in misclassified.png
  std::optional<std::string> evaluate;       // a checkpoint: evaluate it and stop
  std::optional<std::string> misclassified;  // with evaluate: draw the misclassified test images into this PNG
  std::optional<std::string> predict;        // a checkpoint: classify predict_images with it and stop
  std::vector<std::string> predict_images;   // image files (predict.hpp)
  std::size_t top = 3;                       // classes printed per image
  bool json = false;                         // predictions as one JSON document
  bool invert = false;                       // images are dark on light: invert them
  std::optional<std::string> export_onnx;    // write the network as ONNX here: the final model of a finished
                                             // run, or with evaluate the evaluated checkpoint (run/onnx_export.hpp)
};

}  // namespace typenet

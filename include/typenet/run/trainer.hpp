#pragma once
// The trainer, compiled once in typenet::run: a run from a network (as a
// trainable_network), a recipe, run options and a data source.
//
//   typenet::train(typenet::trainable_network_of<my_net>(), recipe, options);  // IDX data found from options
//   typenet::evaluate(typenet::trainable_network_of<my_net>(), options, "runs/x/last.safetensors");
//
// An epoch runs the training set in batches (shuffle, augment, forward and
// backward, optimizer step), then evaluates the test set and hands a typed
// record of the epoch to observers, in order: the console's line, the
// checkpoints (renaming last.safetensors into place commits the epoch), the
// CSV log, then any the caller adds. At the end of the run the observers get the
// final predictions (confusion matrix, misclassified grid, curves).
//
// Every random draw is keyed by (seed, epoch or step), so a run is reproducible
// whatever the thread count, and a resumed run matches an uninterrupted one bit
// for bit; a run killed at any moment resumes to the weights it would have reached.
#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>

#include "typenet/data/dataset.hpp"
#include "typenet/io/csv_log.hpp"
#include "typenet/run/data_source.hpp"
#include "typenet/run/recipe.hpp"
#include "typenet/run/trainable.hpp"

namespace typenet {

// Training stopped because it went wrong (NaN loss, divergence); the message says how.
class training_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct epoch_report {
  epoch_record record;           // the log's row
  std::size_t epochs = 0;        // of the whole run
  double images_per_second = 0;  // training only, without evaluation
  double first_batch_loss = 0;   // the epoch's first batch, mean per sample
  bool best = false;             // the best validation accuracy so far
};

class epoch_observer {
 public:
  virtual ~epoch_observer() = default;
  virtual void epoch_done(const epoch_report&) {}
  // The end of the run: the test set and the final model's prediction for each image.
  virtual void run_done(const dataset& /*test*/, std::span<const std::size_t> /*predictions*/) {}
};

void train(const trainable_network& network, const recipe& r, const run_options& o, data_source& data,
           std::span<epoch_observer* const> observers = {});
// The IDX directory that o.data, $TYPENET_DATA or o.data_fallbacks names.
void train(const trainable_network& network, const recipe& r, const run_options& o);

// Accuracy and confusion matrix of a checkpoint on the test set, normalised as
// the run that wrote it normalised its data; with o.misclassified, their picture;
// with o.export_onnx, the checkpoint's network as ONNX (a finished train() writes its own).
void evaluate(const trainable_network& network, const run_options& o, const std::filesystem::path& checkpoint);

// A batch must fit the training set and this machine's memory: refused, naming --batch, before a model allocates.
void check_batch_fits(const trainable_network& network, std::size_t batch, std::size_t training_images);

// A whole trainer program: parses the command line over `defaults`, then trains
// or evaluates; returns the exit code (0, 1 on an error, 2 when training diverged),
// printing one line for any refusal.
int trainer_program(int argc, char** argv, const trainable_network& network, recipe defaults, run_options options,
                    const std::string& description);

}  // namespace typenet

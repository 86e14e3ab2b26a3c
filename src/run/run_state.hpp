#pragma once
// What a checkpoint records about the run that wrote it, besides its tensors
// (in the safetensors metadata): the options that decide the result, how far
// the run got, and the normalisation of its data. A resumed run must be given
// the same recipe and data; --evaluate normalises with the stored statistics.
// Read strictly: a missing or malformed entry is a checkpoint_error naming the
// file and the entry.
//
//   auto metadata = typenet::run_metadata(options, progress, normalisation);
//   typenet::save_checkpoint(path, model, optimizer.state, metadata);
//   typenet::run_progress p = typenet::read_run_progress(path, typenet::load_checkpoint(path, model, state), options);
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "typenet/data/dataset.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/run/recipe.hpp"

namespace typenet {

// How far a run got, after a whole epoch.
struct run_progress {
  std::size_t epoch = 0;       // epochs completed
  std::size_t best_epoch = 0;  // the epoch best.safetensors holds
  double best_val_acc = 0;     // its validation accuracy, in percent
  double initial_loss = 0;     // the untrained model's loss on the first batch, the yardstick of divergence
  std::string log_row;         // this epoch's row of the log, to restore one a crash lost
};

// The shortest text that reads back to the same number.
template <class Number>
std::string exact_text(Number value) {
  char text[64];
  return std::string(text, std::to_chars(text, text + sizeof text, value).ptr);
}

// Every option that changes the weights a run reaches, named as on the command
// line. Resuming with any of them changed would continue another run.
inline std::vector<std::pair<std::string, std::string>> result_options(const recipe& o) {
  return {{"seed", exact_text(o.seed)},
          {"batch", exact_text(o.batch)},
          {"epochs", exact_text(o.epochs)},
          {"optimizer", o.optimizer},
          {"lr", exact_text(o.lr)},
          {"schedule", o.schedule},
          {"momentum", exact_text(o.momentum)},
          {"nesterov", o.nesterov ? "true" : "false"},
          {"weight-decay", exact_text(o.weight_decay)},
          {"step-epochs", exact_text(o.step_epochs)},
          {"step-gamma", exact_text(o.step_gamma)},
          {"rotate", exact_text(o.augment.rotation_degrees)},
          {"translate", exact_text(o.augment.translate_pixels)},
          {"crop-padding", exact_text(o.augment.crop_padding)},
          {"train-limit", exact_text(o.train_limit)},
          {"init-from", o.init_from}};
}

inline std::map<std::string, std::string> run_metadata(const recipe& o, const run_progress& p,
                                                      const pixel_moments& normalisation) {
  const auto options = result_options(o);
  std::map<std::string, std::string> metadata(options.begin(), options.end());
  metadata["epoch"] = exact_text(p.epoch);
  metadata["best_epoch"] = exact_text(p.best_epoch);
  metadata["best_val_acc"] = exact_text(p.best_val_acc);
  metadata["initial_loss"] = exact_text(p.initial_loss);
  metadata["log_row"] = p.log_row;
  metadata["data_mean"] = exact_text(normalisation.mean);
  metadata["data_std"] = exact_text(normalisation.std);
  return metadata;
}

namespace detail {

// Typed, checked reads of a checkpoint's metadata.
class metadata_reader {
public:
  metadata_reader(const std::filesystem::path& path, const std::map<std::string, std::string>& metadata)
      : path_(path), metadata_(metadata) {}

  bool has(const std::string& key) const { return metadata_.contains(key); }

  const std::string& text(const std::string& key) const {
    const auto found = metadata_.find(key);
    if (found == metadata_.end())
      throw checkpoint_error(path_, "has no '" + key + "' in its metadata: it was not written by this trainer "
                                    "(or by an older one), so it cannot be resumed");
    return found->second;
  }

  std::size_t whole_number(const std::string& key, std::size_t least, std::size_t most) const {
    const std::string& t = text(key);
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (error != std::errc{} || end != t.data() + t.size() || value < least || value > most)
      malformed(key, "a whole number from " + exact_text(least) + " to " + exact_text(most));
    return value;
  }

  // A finite number, from `least` to `most` when they are finite.
  double number(const std::string& key, double least = -HUGE_VAL, double most = HUGE_VAL) const {
    const std::string& t = text(key);
    double value = 0;
    const auto [end, error] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (error != std::errc{} || end != t.data() + t.size() || !std::isfinite(value) || value < least || value > most)
      malformed(key, std::string("a finite number") + (std::isfinite(least) ? " from " + exact_text(least) : "") +
                         (std::isfinite(most) ? " to " + exact_text(most) : ""));
    return value;
  }

  [[noreturn]] void malformed(const std::string& key, const std::string& expected) const {
    throw checkpoint_error(path_, "its metadata '" + key + "' is '" + text(key) + "', not " + expected);
  }

private:
  const std::filesystem::path& path_;
  const std::map<std::string, std::string>& metadata_;
};

}  // namespace detail

// The progress of the run that wrote `path`, after checking that it was made
// with the options `o` gives.
inline run_progress read_run_progress(const std::filesystem::path& path,
                                      const std::map<std::string, std::string>& metadata,
                                      const recipe& o) {
  const detail::metadata_reader in(path, metadata);
  for (const auto& [key, value] : result_options(o))
    if (in.text(key) != value)
      throw checkpoint_error(path, "was made with --" + key + " " + in.text(key) + ", not " + value +
                                       "; resume with the same options");
  run_progress p;
  p.epoch = in.whole_number("epoch", 1, o.epochs);
  p.best_epoch = in.whole_number("best_epoch", 1, p.epoch);
  p.best_val_acc = in.number("best_val_acc", 0, 100);
  p.initial_loss = in.number("initial_loss", 0);
  p.log_row = in.text("log_row");
  if (!p.log_row.starts_with(exact_text(p.epoch) + ",") || p.log_row.find('\n') != std::string::npos)
    in.malformed("log_row", "the log's row of epoch " + exact_text(p.epoch));
  return p;
}

// The normalisation the run used, if the checkpoint records it (older ones do not).
inline std::optional<pixel_moments> read_normalisation(const std::filesystem::path& path,
                                                       const std::map<std::string, std::string>& metadata) {
  const detail::metadata_reader in(path, metadata);
  if (!in.has("data_mean") && !in.has("data_std")) return std::nullopt;
  const double mean = in.number("data_mean");
  const double std = in.number("data_std");
  if (!(std > 0)) in.malformed("data_std", "a finite number above 0");
  return pixel_moments{mean, std};
}

}  // namespace typenet

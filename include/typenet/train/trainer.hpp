#pragma once
// The generated trainer: everything a run does, from a network type and options.
//
//   typenet::training_options o;              // the recipe, then the command line
//   typenet::train<net>(o);                    // prints, logs, checkpoints, plots
//   typenet::evaluate<net>(o, "runs/x/last.safetensors");
//
// An epoch is committed when its last.safetensors is renamed into place; best.safetensors
// and the log's row follow, and --resume redoes them if a crash came first. So a
// run killed at any moment resumes to the weights it would have reached.
//
// Data flows one way: data set -> (shuffle, augment) batch -> model forward and
// backward -> flat gradient -> optimizer -> flat parameters. Every random draw is
// keyed by (seed, epoch or step), so a run is reproducible whatever the thread
// count, and a resumed run matches an uninterrupted one bit for bit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <unistd.h>
#include <variant>
#include <vector>

#include "../data/augment.hpp"
#include "../engine/loss.hpp"
#include "../engine/model.hpp"
#include "../engine/optimizer.hpp"
#include "../engine/schedule.hpp"
#include "options.hpp"

// The trainer orchestrates: per step it calls the model, the augmentation and the
// optimizer (included above, built at the command line's level), and per run or
// epoch it reads data and writes checkpoints, logs and pictures. All of that is
// built at -O1, which cuts a trainer's compile time by a third at no cost in speed.
#pragma GCC push_options
#pragma GCC optimize("O1")
#include "../data/dataset.hpp"
#include "../io/csv_log.hpp"
#include "../io/image_grid.hpp"
#include "../io/plot.hpp"
#include "../summary.hpp"
#include "checkpoint.hpp"
#include "progress.hpp"
#include "run_directory.hpp"
#include "run_state.hpp"

namespace typenet {

// Training stopped because it went wrong (NaN loss); the message says how.
class training_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {

using any_optimizer = std::variant<sgd, adam, adamw>;
using any_schedule = std::variant<constant_schedule, step_schedule, one_cycle, cosine_schedule>;

inline any_optimizer make_optimizer(const training_options& o) {
  if (o.optimizer == "sgd") return sgd{.momentum = o.momentum, .nesterov = o.nesterov, .weight_decay = o.weight_decay};
  if (o.optimizer == "adam") return adam{.weight_decay = o.weight_decay};
  if (o.optimizer == "adamw") return adamw{.weight_decay = o.weight_decay};
  throw std::invalid_argument("unknown optimizer '" + o.optimizer + "' (sgd, adam, adamw)");
}

inline any_schedule make_schedule(const training_options& o, std::size_t steps_per_epoch) {
  const std::size_t total = o.epochs * steps_per_epoch;
  if (o.schedule == "constant") return constant_schedule{.lr = o.lr};
  if (o.schedule == "step") return step_schedule{.lr = o.lr, .step_size = o.step_epochs * steps_per_epoch, .gamma = o.step_gamma};
  if (o.schedule == "one-cycle") return one_cycle{.max_lr = o.lr, .total_steps = total};
  if (o.schedule == "cosine") return cosine_schedule{.lr = o.lr, .total_steps = total};
  throw std::invalid_argument("unknown schedule '" + o.schedule + "' (constant, step, one-cycle, cosine)");
}

inline std::vector<double>& optimizer_state(any_optimizer& o) {
  return std::visit([](auto& opt) -> std::vector<double>& { return opt.state; }, o);
}

// The network must have an output for every class (the shapes are checked as the data loads).
template <class Net>
void check_classes(const dataset& d, const std::filesystem::path& what) {
  if (d.classes > Net::output_size)
    throw data_error(what, std::to_string(d.classes) + " classes but the network has " +
                     std::to_string(Net::output_size) + " outputs");
}

// A batch must fit the training set and this machine's memory, checked before the model allocates.
template <class Net>
void check_batch(std::size_t batch, std::size_t training_images) {
  if (batch > training_images)
    throw std::invalid_argument("--batch " + std::to_string(batch) + ": more than the " +
                                std::to_string(training_images) + " training images");
  const double needed = model<Net>::bytes_for(batch), memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                                                            static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && needed > 0.8 * memory)
    throw std::invalid_argument("--batch " + std::to_string(batch) + ": the model would need " +
                                std::to_string(static_cast<long long>(needed / 1e6)) + " MB, more than 80% of this machine's " +
                                std::to_string(static_cast<long long>(memory / 1e6)) + " MB");
}

inline std::size_t argmax(std::span<const float> v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

struct evaluation {
  double loss = 0, accuracy = 0;
  std::vector<std::size_t> predictions;
};

// Loss and accuracy on a whole data set, in evaluation mode.
template <class Net, class Loss>
evaluation evaluate_on(model<Net>& m, const dataset& d) {
  const std::vector<float> labels(d.labels.begin(), d.labels.end());
  const auto result = m.template evaluate<Loss>(d.pixels, labels, d.count);
  evaluation e;
  e.predictions.resize(d.count);
  std::size_t correct = 0;
  for (std::size_t s = 0; s < d.count; ++s) {
    e.predictions[s] = argmax(std::span<const float>(result.outputs).subspan(s * Net::output_size, Net::output_size));
    correct += e.predictions[s] == d.labels[s];
    e.loss += result.losses[s];
  }
  e.loss /= static_cast<double>(d.count);
  e.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(d.count);
  return e;
}

struct loaded_data {
  dataset train, test;
  std::filesystem::path dir;
  pixel_moments normalisation{};
  float black = 0, white = 1;  // pixel values after normalisation
};

// Normalised with `normalisation` if given (a checkpoint's), else the training set's.
template <class Net>
loaded_data load_data(const training_options& o, std::optional<pixel_moments> normalisation = {}) {
  loaded_data d;
  d.dir = find_data_dir(o.data);
  using in = typename Net::input_shape;
  const image_geometry input{in::channels, in::height, in::width};
  d.train = load_idx_dataset(d.dir, "train", input);
  d.test = load_idx_dataset(d.dir, "t10k", input);
  check_classes<Net>(d.train, d.dir / "train-labels-idx1-ubyte");
  if (o.train_limit > 0 && o.train_limit < d.train.count) {
    d.train.count = o.train_limit;
    d.train.pixels.resize(o.train_limit * Net::input_size);
    d.train.labels.resize(o.train_limit);
  }
  // Normalised with the training set's statistics, as torchvision's Normalize(mean, std).
  const pixel_moments m = normalisation ? *normalisation : pixel_statistics(d.train);
  d.normalisation = m;
  normalise(d.train, m.mean, m.std);
  normalise(d.test, m.mean, m.std);
  d.black = static_cast<float>(-m.mean / m.std);
  d.white = static_cast<float>((1 - m.mean) / m.std);
  std::printf("data: %s (%zu training, %zu test images; mean %.4f, std %.4f)\n", d.dir.c_str(), d.train.count,
              d.test.count, m.mean, m.std);
  return d;
}

template <class Net>
void print_confusion(const dataset& d, const std::vector<std::size_t>& predictions) {
  const std::size_t k = d.classes;
  std::vector<std::size_t> counts(k * k);
  for (std::size_t i = 0; i < d.count; ++i) ++counts[d.labels[i] * k + predictions[i]];
  std::printf("confusion matrix (rows: true class, columns: predicted)\n      ");
  for (std::size_t c = 0; c < k; ++c) std::printf("%6zu", c);
  std::printf("\n");
  for (std::size_t r = 0; r < k; ++r) {
    std::printf("%6zu", r);
    for (std::size_t c = 0; c < k; ++c) std::printf("%6zu", counts[r * k + c]);
    std::printf("\n");
  }
}

// The course's "difficult inputs": misclassified test images with true and predicted labels.
template <class Net>
void draw_misclassified(const std::filesystem::path& png, const dataset& test, const std::vector<std::size_t>& predictions,
                        std::size_t most, float lo, float hi) {
  std::vector<float> images;
  std::vector<std::string> captions;
  for (std::size_t i = 0; i < test.count && captions.size() < most; ++i)
    if (predictions[i] != test.labels[i]) {
      images.insert(images.end(), test.pixels.begin() + i * Net::input_size, test.pixels.begin() + (i + 1) * Net::input_size);
      captions.push_back(std::to_string(test.labels[i]) + ">" + std::to_string(predictions[i]));
    }
  if (captions.empty()) return;
  write_labelled_grid(png, images, captions.size(), test.rows, test.cols, captions, {.columns = 10, .scale = 3, .lo = lo, .hi = hi});
  std::printf("misclassified: %s (caption: true>predicted)\n", png.c_str());
}

// Whether `path` is a whole checkpoint of `epoch` (a crash may have come before it was written).
inline bool holds_epoch(const std::filesystem::path& path, std::size_t epoch) {
  try {
    const safetensors_file file = load_safetensors(path);
    const auto found = file.metadata.find("epoch");
    return found != file.metadata.end() && found->second == exact_text(epoch);
  } catch (const checkpoint_error&) {
    return false;
  }
}

// Continues the run whose last epoch `last` holds: its weights, buffers and
// optimizer state go into m and the optimizer, after checking that the run had
// the same options and data; then what a crash may have left undone after
// that epoch's checkpoint (best.safetensors, the log's row) is redone.
template <class Net>
run_progress resume_run(const std::filesystem::path& last, const std::filesystem::path& best, epoch_log& log,
                        model<Net>& m, any_optimizer& optimizer, const training_options& o,
                        const pixel_moments& normalisation) {
  std::vector<double>& state = optimizer_state(optimizer);
  const auto metadata = load_checkpoint(last, m, state);
  const run_progress progress = read_run_progress(last, metadata, o);
  const std::optional<pixel_moments> trained_on = read_normalisation(last, metadata);
  if (!trained_on) throw checkpoint_error(last, "has no 'data_mean' in its metadata, so it cannot be resumed");
  if (trained_on->mean != normalisation.mean || trained_on->std != normalisation.std)
    throw checkpoint_error(last, "was trained on other data (pixel mean " + exact_text(trained_on->mean) + ", std " +
                                     exact_text(trained_on->std) + "; these data: " + exact_text(normalisation.mean) +
                                     ", " + exact_text(normalisation.std) + "); resume with the same --data");
  const std::size_t needed =
      std::visit([](const auto& opt) { return opt.state_size(Net::parameter_count); }, optimizer);
  if (state.size() != needed)
    throw checkpoint_error(last, state.empty() ? "has no optimizer state ('optimizer.state'); resuming would restart "
                                                 "the momentum from zero"
                                               : "its optimizer state holds " + std::to_string(state.size()) +
                                                     " values, but " + o.optimizer + " needs " +
                                                     std::to_string(needed));
  if (progress.best_epoch == progress.epoch && !holds_epoch(best, progress.epoch))
    save_checkpoint(best, m, state, metadata);
  log.restore(static_cast<int>(progress.epoch), progress.log_row);
  std::printf("resuming after epoch %zu from %s\n", progress.epoch, last.c_str());
  return progress;
}

inline bool all_finite(std::span<const float> values) {
  return std::ranges::all_of(values, [](float v) { return std::isfinite(v); });
}

}  // namespace detail

template <class Net, class Loss = nll_loss>
void train(const training_options& o) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                              o.threads > 0 ? o.threads : static_cast<std::size_t>(tbb::info::default_concurrency()));
  std::printf("%s\n", summary<Net>().c_str());
  // Every file the run writes is checked before the data are read and before any epoch.
  const run_directory dir(o.checkpoint_dir, o.resume);
  const std::filesystem::path last = dir.path() / "last.safetensors", best = dir.path() / "best.safetensors";
  const std::filesystem::path log_path = o.log ? std::filesystem::path(*o.log) : dir.path() / "log.csv";
  epoch_log log(log_path);
  detail::loaded_data data = detail::load_data<Net>(o);
  const dataset& train_set = data.train;
  detail::check_batch<Net>(o.batch, train_set.count);
  check_augmentation(o.augment, train_set.geometry());
  const std::size_t steps_per_epoch = (train_set.count + o.batch - 1) / o.batch;

  model<Net> m(o.batch);
  m.initialize(o.seed);
  detail::any_optimizer optimizer = detail::make_optimizer(o);
  const detail::any_schedule schedule = detail::make_schedule(o, steps_per_epoch);
  run_progress progress;
  if (o.resume && std::filesystem::exists(last)) {
    progress = detail::resume_run(last, best, log, m, optimizer, o, data.normalisation);
  } else if (o.resume) {
    log.restore(0, "");
    std::printf("nothing to resume in %s yet (no last.safetensors): starting at epoch 1\n", dir.path().c_str());
  }
  // Nothing of a diverged epoch is saved: the last checkpoint stays the last good one.
  const auto diverged = [&](const std::string& what, std::size_t epoch) {
    throw training_error(what + " in epoch " + std::to_string(epoch) + ": lower --lr (now " + exact_text(o.lr) +
                         ") or check the data; " +
                         (progress.epoch > 0 ? "the last good checkpoint, of epoch " + std::to_string(progress.epoch) +
                                                   ", is " + last.string() + " (continue with --resume)"
                                             : "no checkpoint was written"));
  };
  const auto validate = [&] {
    return detail::evaluate_on<Net, Loss>(m, data.test);
  };

  std::vector<std::size_t> order(train_set.count);
  std::vector<float> batch_pixels(o.batch * Net::input_size), batch_labels(o.batch);
  const image_geometry geometry = train_set.geometry();
  augmentation augment = o.augment;
  augment.fill = data.black;
  const bool augmenting = augment.rotation_degrees > 0 || augment.translate_pixels > 0 || augment.crop_padding > 0;
  detail::evaluation last_eval;

  for (std::size_t epoch = progress.epoch + 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::iota(order.begin(), order.end(), std::size_t{0});
    random_sequence shuffle(random_key(o.seed, stream::shuffle, epoch));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);

    double loss_sum = 0, first_loss = 0, lr = 0;
    std::size_t correct = 0, seen = 0;
    progress_bar bar(steps_per_epoch);
    for (std::size_t b = 0; b < steps_per_epoch; ++b) {
      const std::size_t step = (epoch - 1) * steps_per_epoch + b;
      const std::size_t n = std::min(o.batch, train_set.count - b * o.batch);
      const std::span<const std::size_t> indices(order.data() + b * o.batch, n);
      if (augmenting) {
        augment_batch(train_set.pixels.data(), indices, batch_pixels.data(), geometry, augment,
                      random_key(o.seed, stream::augment, epoch));
      } else {
        for (std::size_t s = 0; s < n; ++s)
          std::copy_n(train_set.pixels.begin() + indices[s] * Net::input_size, Net::input_size,
                      batch_pixels.begin() + s * Net::input_size);
      }
      for (std::size_t s = 0; s < n; ++s) batch_labels[s] = train_set.labels[indices[s]];

      const float loss = m.template train_forward_backward<Loss>(batch_pixels, batch_labels, n,
                                                                  random_key(o.seed, stream::dropout, step));
      if (!std::isfinite(loss)) diverged("the loss became " + std::to_string(loss) + " at batch " + std::to_string(b + 1), epoch);
      const auto out = m.outputs();
      for (std::size_t s = 0; s < n; ++s)
        correct += detail::argmax(out.subspan(s * Net::output_size, Net::output_size)) == train_set.labels[indices[s]];
      loss_sum += loss, seen += n;
      if (b == 0) first_loss = loss / n;
      if (step == 0) progress.initial_loss = loss / n;

      lr = std::visit([&](const auto& s) { return s.learning_rate(step); }, schedule);
      const auto momentum = std::visit([&](const auto& s) { return s.momentum(step); }, schedule);
      std::visit(
          [&](auto& opt) {
            if constexpr (requires { opt.momentum; })
              if (momentum) opt.momentum = *momentum;
            opt.step(m.parameters(), std::span<const float>(m.gradients()), lr);
          },
          optimizer);
      if (!detail::all_finite(m.parameters()) || !detail::all_finite(m.buffers()))
        diverged("a weight or a running statistic became infinite or NaN at batch " + std::to_string(b + 1), epoch);
      bar.update(b + 1, loss_sum / seen, 100.0 * correct / seen);
    }
    bar.finish();
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Worse than the untrained model by far: the weights have blown up, even if every number is finite.
    if (loss_sum / seen > 2 * progress.initial_loss)
      diverged("the training loss rose to " + exact_text(loss_sum / seen) + " (untrained: " +
                   exact_text(progress.initial_loss) + ")",
               epoch);

    last_eval = validate();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const epoch_record r{static_cast<int>(epoch), loss_sum / seen, 100.0 * correct / seen, last_eval.loss,
                         last_eval.accuracy, lr, seconds};
    std::printf("epoch %2zu/%zu  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%  lr %.5f  %.1f s  %.0f images/s\n",
                epoch, o.epochs, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, lr, seconds,
                seen / train_seconds);
    std::fflush(stdout);

    progress.epoch = epoch;
    if (progress.best_epoch == 0 || last_eval.accuracy >= progress.best_val_acc) {
      progress.best_epoch = epoch;
      progress.best_val_acc = last_eval.accuracy;
    }
    progress.log_row = epoch_log::row(r);
    // Renaming last.safetensors into place commits the epoch. What follows is
    // derived from it, and --resume redoes it if a crash cuts it short.
    const auto metadata = run_metadata(o, progress, data.normalisation);
    save_checkpoint(last, m, detail::optimizer_state(optimizer), metadata);
    if (progress.best_epoch == epoch) save_checkpoint(best, m, detail::optimizer_state(optimizer), metadata);
    log.append(r);

    if (epoch == 1 && !(r.train_loss < first_loss))
      std::printf("warning: the training loss has not fallen in the first epoch (first batch %.4f, epoch mean %.4f): "
                  "the learning rate may be too high or too low\n",
                  first_loss, r.train_loss);
    if (epoch == o.stop_after) {
      std::printf("stopped after epoch %zu as asked; continue with --resume\n", epoch);
      return;
    }
  }

  if (last_eval.predictions.empty()) {  // resumed a finished run: its report again (a crash may have cut it short)
    std::printf("the run finished its %zu epochs; its report again\n", o.epochs);
    last_eval = validate();
  }
  std::printf("final validation accuracy %.2f%%, best %.2f%%\n", last_eval.accuracy, progress.best_val_acc);
  detail::print_confusion<Net>(data.test, last_eval.predictions);
  detail::draw_misclassified<Net>(dir.path() / "misclassified.png", data.test, last_eval.predictions,
                                  o.plot_misclassified, data.black, data.white);
  try {
    plot_training_curves(log_path, dir.path() / "curves.png");
    std::printf("curves: %s\n", (dir.path() / "curves.png").c_str());
  } catch (const plot_error& e) {
    std::printf("no plot: %s\n", e.what());
  }
}

// Accuracy and confusion matrix of a checkpoint on the test set, normalised as
// the run that wrote it normalised its data; with --misclassified, their picture.
template <class Net, class Loss = nll_loss>
void evaluate(const training_options& o, const std::filesystem::path& checkpoint) {
  model<Net> m(1000);
  std::vector<double> ignored;
  const auto metadata = load_checkpoint(checkpoint, m, ignored);
  const std::optional<pixel_moments> normalisation = read_normalisation(checkpoint, metadata);
  if (!normalisation)
    std::printf("%s does not record its data's normalisation: using the training set's\n", checkpoint.c_str());
  detail::loaded_data data = detail::load_data<Net>(o, normalisation);
  const detail::evaluation e = detail::evaluate_on<Net, Loss>(m, data.test);
  std::printf("%s: validation loss %.4f, accuracy %.2f%% (%zu images)\n", checkpoint.c_str(), e.loss, e.accuracy,
              data.test.count);
  detail::print_confusion<Net>(data.test, e.predictions);
  if (o.misclassified)
    detail::draw_misclassified<Net>(*o.misclassified, data.test, e.predictions, o.plot_misclassified, data.black,
                                    data.white);
}

}  // namespace typenet

#pragma GCC pop_options

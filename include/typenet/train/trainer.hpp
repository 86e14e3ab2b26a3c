#pragma once
// The generated trainer: everything a run does, from a network type and options.
//
//   typenet::training_options o;              // the recipe, then the command line
//   typenet::train<net>(o);                    // prints, logs, checkpoints, plots
//   typenet::evaluate<net>(o, "runs/x/last.safetensors");
//
// Data flows one way: data set -> (shuffle, augment) batch -> model forward and
// backward -> flat gradient -> optimizer -> flat parameters. Every random draw is
// keyed by (seed, epoch or step), so a run is reproducible whatever the thread
// count, and a resumed run matches an uninterrupted one bit for bit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
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
  evaluation e;
  e.predictions.resize(d.count);
  std::size_t correct = 0;
  std::vector<float> labels(m.max_batch());
  std::vector<float> grad(Net::output_size);
  for (std::size_t first = 0; first < d.count; first += m.max_batch()) {
    const std::size_t n = std::min(m.max_batch(), d.count - first);
    const auto out = m.forward(std::span<const float>(d.pixels).subspan(first * Net::input_size, n * Net::input_size), n,
                               mode::eval);
    for (std::size_t s = 0; s < n; ++s) {
      const auto y = out.subspan(s * Net::output_size, Net::output_size);
      const std::size_t p = argmax(y);
      e.predictions[first + s] = p;
      correct += p == d.labels[first + s];
      // The loss of one sample, through the same loss code as training (one lane).
      using V1 = pack<float, 1>;
      V1 o[Net::output_size], g[Net::output_size], t{static_cast<float>(d.labels[first + s])};
      for (std::size_t i = 0; i < Net::output_size; ++i) o[i][0] = y[i];
      e.loss += Loss::template value<Net::output_size>(o, &t, g, 1.0f)[0];
    }
  }
  e.loss /= static_cast<double>(d.count);
  e.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(d.count);
  return e;
}

// The options a resumed run must share with the run it continues, as stored in
// the checkpoint's metadata.
inline std::map<std::string, std::string> run_identity(const training_options& o) {
  return {{"seed", std::to_string(o.seed)},
          {"batch", std::to_string(o.batch)},
          {"epochs", std::to_string(o.epochs)},
          {"optimizer", o.optimizer},
          {"schedule", o.schedule}};
}

inline std::string timestamp() {
  char text[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::localtime(&now));
  return text;
}

// A fresh run never writes over an earlier one: its files are moved aside first.
inline void keep_previous_run(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir) || std::filesystem::is_empty(dir)) return;
  const std::filesystem::path kept = dir.string() + "." + timestamp();
  std::filesystem::rename(dir, kept);
  std::printf("kept the previous run's files in %s\n", kept.c_str());
}

struct loaded_data {
  dataset train, test;
  std::filesystem::path dir;
  float black = 0, white = 1;  // pixel values after normalisation
};

template <class Net>
loaded_data load_data(const training_options& o) {
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
  const pixel_moments m = pixel_statistics(d.train);
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

}  // namespace detail

template <class Net, class Loss = nll_loss>
void train(const training_options& o) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                              o.threads > 0 ? o.threads : static_cast<std::size_t>(tbb::info::default_concurrency()));
  std::printf("%s\n", summary<Net>().c_str());
  detail::loaded_data data = detail::load_data<Net>(o);
  const dataset& train_set = data.train;
  detail::check_batch<Net>(o.batch, train_set.count);
  check_augmentation(o.augment, train_set.geometry());
  const std::size_t steps_per_epoch = (train_set.count + o.batch - 1) / o.batch;

  const std::filesystem::path dir = o.checkpoint_dir;
  const std::filesystem::path last = dir / "last.safetensors";
  if (!o.resume) detail::keep_previous_run(dir);
  std::filesystem::create_directories(dir);

  model<Net> m(o.batch), evaluator(1000);
  m.initialize(o.seed);
  detail::any_optimizer optimizer = detail::make_optimizer(o);
  const detail::any_schedule schedule = detail::make_schedule(o, steps_per_epoch);
  std::size_t first_epoch = 1;
  double best = 0;
  if (o.resume) {
    if (!std::filesystem::exists(last))
      throw checkpoint_error(last, "nothing to resume: no checkpoint (train without --resume first)");
    const auto meta = load_checkpoint(last, m, detail::optimizer_state(optimizer));
    for (const auto& [key, value] : detail::run_identity(o))
      if (meta.contains(key) && meta.at(key) != value)
        throw checkpoint_error(last, "was made with --" + key + " " + meta.at(key) + ", not " + value +
                                         "; resume with the same options");
    first_epoch = std::stoul(meta.at("epoch")) + 1;
    best = std::stod(meta.at("best_val_acc"));
    std::printf("resuming after epoch %zu from %s\n", first_epoch - 1, last.c_str());
  }
  epoch_log log(o.log ? std::filesystem::path(*o.log) : dir / "log.csv");
  const auto diverged = [&](const std::string& what, std::size_t epoch, std::size_t batch) {
    throw training_error(what + " at epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch + 1) +
                         ": lower --lr (now " + std::to_string(o.lr) + ") or check the data" +
                         (std::filesystem::exists(last) ? "; the last good checkpoint is " + last.string() : ""));
  };

  std::vector<std::size_t> order(train_set.count);
  std::vector<float> batch_pixels(o.batch * Net::input_size), batch_labels(o.batch);
  const image_geometry geometry = train_set.geometry();
  augmentation augment = o.augment;
  augment.fill = data.black;
  const bool augmenting = augment.rotation_degrees > 0 || augment.translate_pixels > 0 || augment.crop_padding > 0;
  detail::evaluation last_eval;

  for (std::size_t epoch = first_epoch; epoch <= o.epochs; ++epoch) {
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
      if (!std::isfinite(loss)) diverged("the loss became " + std::to_string(loss), epoch, b);
      const auto out = m.outputs();
      for (std::size_t s = 0; s < n; ++s)
        correct += detail::argmax(out.subspan(s * Net::output_size, Net::output_size)) == train_set.labels[indices[s]];
      loss_sum += loss, seen += n;
      if (b == 0) first_loss = loss / n;

      lr = std::visit([&](const auto& s) { return s.learning_rate(step); }, schedule);
      const auto momentum = std::visit([&](const auto& s) { return s.momentum(step); }, schedule);
      std::visit(
          [&](auto& opt) {
            if constexpr (requires { opt.momentum; })
              if (momentum) opt.momentum = *momentum;
            opt.step(m.parameters(), std::span<const float>(m.gradients()), lr);
          },
          optimizer);
      if (!std::ranges::all_of(m.parameters(), [](float p) { return std::isfinite(p); }))
        diverged("a weight became infinite or NaN", epoch, b);
      bar.update(b + 1, loss_sum / seen, 100.0 * correct / seen);
    }
    bar.finish();
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::copy(m.parameters().begin(), m.parameters().end(), evaluator.parameters().begin());
    std::copy(m.buffers().begin(), m.buffers().end(), evaluator.buffers().begin());
    last_eval = detail::evaluate_on<Net, Loss>(evaluator, data.test);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const epoch_record r{static_cast<int>(epoch), loss_sum / seen, 100.0 * correct / seen, last_eval.loss,
                         last_eval.accuracy, lr, seconds};
    std::printf("epoch %2zu/%zu  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%  lr %.5f  %.1f s  %.0f images/s\n",
                epoch, o.epochs, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, lr, seconds,
                seen / train_seconds);
    std::fflush(stdout);

    best = std::max(best, last_eval.accuracy);
    std::map<std::string, std::string> meta = detail::run_identity(o);
    meta["epoch"] = std::to_string(epoch);
    meta["best_val_acc"] = std::to_string(best);
    meta["val_acc"] = std::to_string(last_eval.accuracy);
    save_checkpoint(last, m, detail::optimizer_state(optimizer), meta);
    if (last_eval.accuracy >= best) save_checkpoint(dir / "best.safetensors", m, detail::optimizer_state(optimizer), meta);
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

  if (!last_eval.predictions.empty()) {
    std::printf("final validation accuracy %.2f%%, best %.2f%%\n", last_eval.accuracy, best);
    detail::print_confusion<Net>(data.test, last_eval.predictions);
    detail::draw_misclassified<Net>(dir / "misclassified.png", data.test, last_eval.predictions, o.plot_misclassified,
                                    data.black, data.white);
  }
  try {
    plot_training_curves(o.log ? std::filesystem::path(*o.log) : dir / "log.csv", dir / "curves.png");
    std::printf("curves: %s\n", (dir / "curves.png").c_str());
  } catch (const plot_error& e) {
    std::printf("no plot: %s\n", e.what());
  }
}

// Accuracy and confusion matrix of a checkpoint on the test set.
template <class Net, class Loss = nll_loss>
void evaluate(const training_options& o, const std::filesystem::path& checkpoint) {
  detail::loaded_data data = detail::load_data<Net>(o);
  model<Net> m(1000);
  std::vector<double> ignored;
  load_checkpoint(checkpoint, m, ignored);
  const detail::evaluation e = detail::evaluate_on<Net, Loss>(m, data.test);
  std::printf("%s: validation loss %.4f, accuracy %.2f%% (%zu images)\n", checkpoint.c_str(), e.loss, e.accuracy,
              data.test.count);
  detail::print_confusion<Net>(data.test, e.predictions);
  detail::draw_misclassified<Net>(checkpoint.parent_path() / "misclassified.png", data.test, e.predictions,
                                  o.plot_misclassified, data.black, data.white);
}

}  // namespace typenet

#pragma GCC pop_options

#include "typenet/run/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <numeric>
#include <optional>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <unistd.h>
#include <vector>

#include "progress_bar.hpp"
#include "registry.hpp"
#include "run_directory.hpp"
#include "run_state.hpp"
#include "typenet/data/augment.hpp"
#include "typenet/io/image_grid.hpp"
#include "typenet/io/plot.hpp"
#include "typenet/core/random.hpp"
#include "typenet/run/checkpoint.hpp"
#include "typenet/run/command_line.hpp"
#include "typenet/run/onnx_export.hpp"
#include "typenet/run/predict.hpp"
#include "typenet/run/processes.hpp"

namespace typenet {

void check_batch_fits(const trainable_network& network, std::size_t batch, std::size_t training_images) {
  if (batch > training_images)
    throw std::invalid_argument("--batch " + std::to_string(batch) + ": more than the " +
                                std::to_string(training_images) + " training images");
  const double needed = network.bytes_for(batch), memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                                                          static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && needed > 0.8 * memory)
    throw std::invalid_argument("--batch " + std::to_string(batch) + ": the model would need " +
                                std::to_string(static_cast<long long>(needed / 1e6)) + " MB, more than 80% of this machine's " +
                                std::to_string(static_cast<long long>(memory / 1e6)) + " MB");
}

namespace {

std::size_t argmax(std::span<const float> v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

struct evaluation {
  double loss = 0, accuracy = 0;
  std::vector<std::size_t> predictions;
  bool constant_output = false;  // every sample gave the same output
};

// The evaluation-mode outputs and losses of `samples` of a data set into `into` (which
// holds the whole set's), normalised one batch at a time (a sample's numbers do not
// depend on the batch it ran in).
void evaluate_in_batches(trainable& m, const dataset& d, unit_range samples, const pixel_normalisation& normalised,
                         trainable::evaluation& into) {
  const std::size_t image_size = d.image.size(), outputs = m.description().output_size;
  std::vector<float> images(m.max_batch() * image_size);
  for (std::size_t first = samples.first; first < samples.first + samples.count; first += m.max_batch()) {
    const std::size_t n = std::min(m.max_batch(), samples.first + samples.count - first);
    normalised.convert(std::span(d.pixels).subspan(first * image_size, n * image_size), images.data());
    const std::vector<float> labels(d.labels.begin() + first, d.labels.begin() + first + n);
    const auto part = m.evaluate(images, labels, n);
    std::ranges::copy(part.outputs, into.outputs.begin() + first * outputs);
    std::ranges::copy(part.losses, into.losses.begin() + first);
  }
}

// Loss and accuracy on a whole data set, in evaluation mode. Each process evaluates
// its share of the samples and gathers the others': the losses are added in sample
// order, so the numbers are one process's.
evaluation evaluate_on(trainable& m, const dataset& d, const pixel_normalisation& normalised, processes& group) {
  const std::size_t outputs = m.description().output_size;
  trainable::evaluation result{std::vector<float>(d.count * outputs), std::vector<float>(d.count)};
  evaluate_in_batches(m, d, group.share(d.count), normalised, result);
  group.gather_values(std::span(result.outputs), outputs);
  group.gather_values(std::span(result.losses), 1);
  evaluation e;
  e.predictions.resize(d.count);
  std::size_t correct = 0;
  for (std::size_t s = 0; s < d.count; ++s) {
    e.predictions[s] = argmax(std::span<const float>(result.outputs).subspan(s * outputs, outputs));
    correct += e.predictions[s] == d.labels[s];
    e.loss += result.losses[s];
  }
  e.loss /= static_cast<double>(d.count);
  e.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(d.count);
  const std::span<const float> all(result.outputs), first = all.first(outputs);
  e.constant_output = d.count > 1;
  for (std::size_t s = 1; s < d.count && e.constant_output; ++s)
    e.constant_output = std::ranges::equal(all.subspan(s * outputs, outputs), first);
  return e;
}

bool all_images_equal(const dataset& d) {
  const std::size_t size = d.image.size();
  for (std::size_t i = 1; i < d.count; ++i)
    if (!std::equal(d.pixels.begin(), d.pixels.begin() + size, d.pixels.begin() + i * size)) return false;
  return true;
}

struct loaded_data {
  dataset train, test;
  pixel_moments normalisation;
  pixel_normalisation normalised;  // of normalisation: each byte's float
  float black, white;              // pixel values after normalisation
};

// Normalised with `normalisation` if given (a checkpoint's), else the training set's.
loaded_data load_data(const network_description& network, data_source& source, std::size_t train_limit,
                      std::optional<pixel_moments> normalisation = {}) {
  dataset train = source.training_set(network.input, network.output_size);
  dataset test = source.test_set(network.input, network.output_size);
  if (train_limit > 0 && train_limit < train.count) {
    train.count = train_limit;
    train.pixels.resize(train_limit * network.input.size());
    train.pixels.shrink_to_fit();  // the images left out are freed
    train.labels.resize(train_limit);
    train.labels.shrink_to_fit();
  }
  // Normalised with the training set's statistics, as torchvision's Normalize(mean, std).
  const pixel_moments m = normalisation ? *normalisation : pixel_statistics(train);
  std::printf("data: %s (%zu training, %zu test images, %zu classes; mean %.4f, std %.4f)\n", source.name().c_str(),
              train.count, test.count, std::max(train.classes, test.classes), m.mean, m.std);
  return {std::move(train), std::move(test), m, pixel_normalisation(m), static_cast<float>(-m.mean / m.std),
          static_cast<float>((1 - m.mean) / m.std)};
}

void print_confusion(const dataset& d, std::span<const std::size_t> predictions) {
  // A network may have more outputs than the test set has classes.
  const std::size_t k = std::max(d.classes, predictions.empty() ? 0 : *std::ranges::max_element(predictions) + 1);
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
void draw_misclassified(const std::filesystem::path& png, const dataset& test, const pixel_normalisation& normalised,
                        std::span<const std::size_t> predictions, std::size_t most, float lo, float hi) {
  const std::size_t size = test.image.size();
  std::vector<float> images;
  std::vector<std::string> captions;
  for (std::size_t i = 0; i < test.count && captions.size() < most; ++i)
    if (predictions[i] != test.labels[i]) {
      images.resize(images.size() + size);
      normalised.convert(test.image_bytes(i), images.data() + images.size() - size);
      captions.push_back(std::to_string(test.labels[i]) + ">" + std::to_string(predictions[i]));
    }
  if (captions.empty()) return;
  write_labelled_grid(png, images, captions.size(), test.image.height, test.image.width, captions, {.columns = 10, .scale = 3, .lo = lo, .hi = hi});
  std::printf("misclassified: %s (caption: true>predicted)\n", png.c_str());
}

// Whether `path` is a whole checkpoint of `epoch` (a crash may have come before it was written).
bool holds_epoch(const std::filesystem::path& path, std::size_t epoch) {
  try {
    const safetensors_file file = load_safetensors(path);
    const auto found = file.metadata.find("epoch");
    return found != file.metadata.end() && found->second == exact_text(epoch);
  } catch (const checkpoint_error&) {
    return false;
  }
}

bool all_finite(std::span<const float> values) {
  return std::ranges::all_of(values, [](float v) { return std::isfinite(v); });
}

// The console's line per epoch, and the first epoch's warning when the loss has not fallen.
class console_report final : public epoch_observer {
 public:
  void epoch_done(const epoch_report& e) override {
    const epoch_record& r = e.record;
    std::printf("epoch %2d/%zu  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%  lr %.5f  %.1f s  %.0f images/s\n",
                r.epoch, e.epochs, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.learning_rate,
                r.seconds, e.images_per_second);
    if (r.epoch == 1 && !(r.train_loss < e.first_batch_loss))
      std::printf("warning: the training loss has not fallen in the first epoch (first batch %.4f, epoch mean %.4f): "
                  "the learning rate may be too high or too low\n",
                  e.first_batch_loss, r.train_loss);
    std::fflush(stdout);
  }
};

// After every epoch: model.safetensors (the weights, for PyTorch and --init-from),
// then last.safetensors (its rename commits the epoch), and best.safetensors after
// the best. The weights go first: a crash before the commit redoes the epoch,
// which writes the same weights again.
class checkpoint_writer final : public epoch_observer {
 public:
  checkpoint_writer(const std::filesystem::path& dir, trainable& m, detail::any_optimizer& optimizer, const recipe& r,
                    const run_progress& progress, const pixel_moments& normalisation)
      : weights_(dir / "model.safetensors"), last_(dir / "last.safetensors"), best_(dir / "best.safetensors"), m_(m),
        optimizer_(optimizer), recipe_(r), progress_(progress), normalisation_(normalisation) {}
  void epoch_done(const epoch_report& e) override {
    save_weights(weights_, m_, {{"data_mean", exact_text(normalisation_.mean)}, {"data_std", exact_text(normalisation_.std)}});
    const auto metadata = run_metadata(recipe_, progress_, normalisation_);
    save_checkpoint(last_, m_, detail::optimizer_state(optimizer_), metadata);
    if (e.best) save_checkpoint(best_, m_, detail::optimizer_state(optimizer_), metadata);
  }

 private:
  std::filesystem::path weights_, last_, best_;
  trainable& m_;
  detail::any_optimizer& optimizer_;
  const recipe& recipe_;
  const run_progress& progress_;
  const pixel_moments& normalisation_;
};

class csv_logger final : public epoch_observer {
 public:
  explicit csv_logger(epoch_log& log) : log_(log) {}
  void epoch_done(const epoch_report& e) override { log_.append(e.record); }

 private:
  epoch_log& log_;
};

// The run's report: the final accuracy, the confusion matrix, the misclassified grid and the curves.
class final_report final : public epoch_observer {
 public:
  final_report(std::filesystem::path dir, std::filesystem::path log, std::size_t most_pictured,
               const pixel_normalisation& normalised, float black, float white)
      : dir_(std::move(dir)), log_(std::move(log)), most_(most_pictured), normalised_(normalised), black_(black),
        white_(white) {}
  void run_done(const dataset& test, std::span<const std::size_t> predictions) override {
    print_confusion(test, predictions);
    draw_misclassified(dir_ / "misclassified.png", test, normalised_, predictions, most_, black_, white_);
    try {
      plot_training_curves(log_, dir_ / "curves.png");
      std::printf("curves: %s\n", (dir_ / "curves.png").c_str());
    } catch (const plot_error& e) {
      std::printf("no plot: %s\n", e.what());
    }
  }

 private:
  std::filesystem::path dir_, log_;
  std::size_t most_;
  const pixel_normalisation& normalised_;
  float black_, white_;
};

// --export-onnx's file is written after the last epoch: one that cannot be is refused before the first.
void check_onnx_path(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  if (std::filesystem::is_directory(path)) throw onnx_export_error(path, "is a directory, not a file to export to");
  if (!std::filesystem::is_directory(dir)) throw onnx_export_error(path, "its directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw onnx_export_error(path, "cannot write in " + dir.string() + ": " + std::strerror(errno));
}

// The model as ONNX, normalised as its data were.
void write_onnx(const std::filesystem::path& path, trainable& m, const pixel_moments& normalisation) {
  export_onnx(path, m, normalisation);
  std::printf("onnx: %s\n", path.c_str());
}

// The finished run's model, as ONNX.
class onnx_writer final : public epoch_observer {
 public:
  onnx_writer(std::filesystem::path path, trainable& m, const pixel_moments& normalisation)
      : path_(std::move(path)), m_(m), normalisation_(normalisation) {}
  void run_done(const dataset&, std::span<const std::size_t>) override { write_onnx(path_, m_, normalisation_); }

 private:
  std::filesystem::path path_;
  trainable& m_;
  const pixel_moments& normalisation_;
};

// Continues the run whose last epoch `last` holds: its weights, buffers and
// optimizer state go into m and the optimizer, after checking that the run had
// the same recipe and data; then what a crash may have left undone after that
// epoch's checkpoint (best.safetensors, the log's row) is redone.
// Every process reads the checkpoint; the writer alone (the one with a log) repairs.
run_progress resume_run(const std::filesystem::path& last, const std::filesystem::path& best, epoch_log* log,
                        trainable& m, detail::any_optimizer& optimizer, const recipe& r,
                        const pixel_moments& normalisation) {
  std::vector<double>& state = detail::optimizer_state(optimizer);
  const auto metadata = load_checkpoint(last, m, state);
  const run_progress progress = read_run_progress(last, metadata, r);
  const std::optional<pixel_moments> trained_on = read_normalisation(last, metadata);
  if (!trained_on) throw checkpoint_error(last, "has no 'data_mean' in its metadata, so it cannot be resumed");
  if (trained_on->mean != normalisation.mean || trained_on->std != normalisation.std)
    throw checkpoint_error(last, "was trained on other data (pixel mean " + exact_text(trained_on->mean) + ", std " +
                                     exact_text(trained_on->std) + "; these data: " + exact_text(normalisation.mean) +
                                     ", " + exact_text(normalisation.std) + "); resume with the same --data");
  const std::size_t needed = std::visit(
      [&](const auto& opt) { return opt.state_size(m.description().parameter_count); }, optimizer);
  if (state.size() != needed)
    throw checkpoint_error(last, state.empty() ? "has no optimizer state ('" + std::string(optimizer_state_name) +
                                                     "'); resuming would restart the momentum from zero"
                                               : "its optimizer state holds " + std::to_string(state.size()) +
                                                     " values, but " + r.optimizer + " needs " +
                                                     std::to_string(needed));
  if (!log) return progress;
  if (progress.best_epoch == progress.epoch && !holds_epoch(best, progress.epoch))
    save_checkpoint(best, m, state, metadata);
  log->restore(static_cast<int>(progress.epoch), progress.log_row);
  std::printf("resuming after epoch %zu from %s\n", progress.epoch, last.c_str());
  return progress;
}

// This run's processes; rank 0 alone prints.
processes& join_run() {
  processes& group = run_processes();
  if (!group.writer() && !std::freopen("/dev/null", "w", stdout)) throw std::runtime_error("cannot silence stdout");
  return group;
}

// Processes that resume must resume the same epoch: a checkpoint directory on a
// file system each sees its own copy of would give them different weights.
void check_same_epoch(processes& group, std::size_t epoch, const std::filesystem::path& dir) {
  std::vector<std::size_t> epochs(group.size());
  epochs[group.rank()] = epoch;
  group.gather_values(std::span(epochs), 1);
  for (std::size_t r = 1; r < epochs.size(); ++r)
    if (epochs[r] != epochs[0])
      throw std::runtime_error("rank " + std::to_string(r) + " found epoch " + std::to_string(epochs[r]) + " in " +
                               dir.string() + ", rank 0 epoch " + std::to_string(epochs[0]) +
                               ": --checkpoint-dir must be one directory that every process sees (a shared file system)");
}

tbb::global_control thread_limit(std::size_t threads) {
  return tbb::global_control(tbb::global_control::max_allowed_parallelism,
                             threads > 0 ? threads : static_cast<std::size_t>(tbb::info::default_concurrency()));
}

}  // namespace

void train(const trainable_network& network, const recipe& r, const run_options& o, data_source& source,
           std::span<epoch_observer* const> extra_observers) {
  const auto threads = thread_limit(o.threads);
  processes& group = join_run();
  const network_description& net = network.description;
  std::printf("%s\n", net.summary.c_str());
  if (group.size() > 1) std::printf("processes: %zu (mpirun), each computing a share of every batch\n", group.size());
  // Every file the run writes is checked before the data are read and before any epoch; rank 0 alone writes.
  std::optional<run_directory> writable;
  if (group.writer()) writable.emplace(o.checkpoint_dir, o.resume);
  const std::filesystem::path dir = run_directory::without_trailing_slash(o.checkpoint_dir);
  const std::filesystem::path last = dir / "last.safetensors", best = dir / "best.safetensors";
  const std::filesystem::path log_path = o.log ? std::filesystem::path(*o.log) : dir / "log.csv";
  std::optional<epoch_log> log;
  if (group.writer() && !o.resume) run_directory::keep_earlier_log_aside(log_path);
  if (group.writer()) log.emplace(log_path);
  if (o.export_onnx && group.writer()) check_onnx_path(*o.export_onnx);
  const loaded_data data = load_data(net, source, r.train_limit);
  const dataset& train_set = data.train;
  check_batch_fits(network, r.batch, train_set.count);
  check_augmentation(r.augment, train_set.image);
  const std::size_t steps_per_epoch = (train_set.count + r.batch - 1) / r.batch;

  const std::unique_ptr<trainable> m = network.make(r.batch);
  if (group.size() > 1) m->share_batches(&group);
  m->initialize(r.seed);
  detail::any_optimizer optimizer = detail::make_optimizer(r);
  const detail::any_schedule schedule = detail::make_schedule(r, steps_per_epoch);
  run_progress progress;
  if (o.resume && std::filesystem::exists(last)) {
    progress = resume_run(last, best, log ? &*log : nullptr, *m, optimizer, r, data.normalisation);
  } else {
    if (o.resume) {
      if (log) log->restore(0, "");
      std::printf("nothing to resume in %s yet (no last.safetensors): starting at epoch 1\n", dir.c_str());
    }
    if (!r.init_from.empty()) {
      load_weights(r.init_from, *m);
      std::printf("starting from the weights of %s\n", r.init_from.c_str());
    }
  }
  // Nothing of a diverged epoch is saved: the last checkpoint stays the last good one.
  const auto diverged = [&](const std::string& what, std::size_t epoch) {
    throw training_error(what + " in epoch " + std::to_string(epoch) + ": lower --lr (now " + exact_text(r.lr) +
                         ") or check the data; " +
                         (progress.epoch > 0 ? "the last good checkpoint, of epoch " + std::to_string(progress.epoch) +
                                                   ", is " + last.string() + " (continue with --resume)"
                                             : "no checkpoint was written"));
  };

  if (group.size() > 1) check_same_epoch(group, progress.epoch, dir);

  console_report console;
  checkpoint_writer checkpoints(dir, *m, optimizer, r, progress, data.normalisation);
  final_report report(dir, log_path, o.plot_misclassified, data.normalised, data.black, data.white);
  std::optional<csv_logger> logger;
  std::optional<onnx_writer> onnx;
  std::vector<epoch_observer*> observers;
  if (group.writer()) {
    observers = {&console, &checkpoints, &logger.emplace(*log), &report};
    if (o.export_onnx) observers.push_back(&onnx.emplace(*o.export_onnx, *m, data.normalisation));
    observers.insert(observers.end(), extra_observers.begin(), extra_observers.end());
  }

  std::vector<std::size_t> order(train_set.count);
  const std::size_t image_size = net.input.size();
  std::vector<float> batch_pixels(r.batch * image_size), batch_labels(r.batch);
  const dynamic_shape geometry = train_set.image;
  augmentation augment = r.augment;
  augment.fill = data.black;
  const bool augmenting = augment.rotation_degrees > 0 || augment.translate_pixels > 0 || augment.crop_padding > 0;
  evaluation last_eval;
  const bool test_images_equal = all_images_equal(data.test);

  for (std::size_t epoch = progress.epoch + 1; epoch <= r.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::iota(order.begin(), order.end(), std::size_t{0});
    random_sequence shuffle(random_key(r.seed, stream::shuffle, epoch));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);

    double loss_sum = 0, first_batch_loss = 0, lr = 0;
    std::size_t correct = 0, seen = 0;
    progress_bar bar(steps_per_epoch);
    for (std::size_t b = 0; b < steps_per_epoch; ++b) {
      const std::size_t step = (epoch - 1) * steps_per_epoch + b;
      const std::size_t n = std::min(r.batch, train_set.count - b * r.batch);
      const unit_range mine = m->batch_share(n);  // this process's samples of the batch
      const std::span<const std::size_t> indices(order.data() + b * r.batch + mine.first, mine.count);
      if (augmenting) {
        augment_batch(train_set.pixels.data(), data.normalised, indices, batch_pixels.data(), geometry, augment,
                      random_key(r.seed, stream::augment, epoch));
      } else {
        for (std::size_t s = 0; s < indices.size(); ++s)
          data.normalised.convert(train_set.image_bytes(indices[s]), batch_pixels.data() + s * image_size);
      }
      for (std::size_t s = 0; s < indices.size(); ++s) batch_labels[s] = train_set.labels[indices[s]];

      const float loss = m->train_step(batch_pixels, batch_labels, n, random_key(r.seed, stream::dropout, step));
      if (!std::isfinite(loss)) diverged("the loss became " + std::to_string(loss) + " at batch " + std::to_string(b + 1), epoch);
      const auto out = m->outputs();
      std::size_t correct_here = 0;
      for (std::size_t s = 0; s < indices.size(); ++s)
        correct_here += argmax(out.subspan(s * net.output_size, net.output_size)) == train_set.labels[indices[s]];
      correct += group.total(correct_here);
      loss_sum += loss, seen += n;
      if (b == 0) first_batch_loss = loss / n;
      if (step == 0) progress.initial_loss = loss / n;

      lr = std::visit([&](const auto& s) { return s.learning_rate(step); }, schedule);
      const auto momentum = std::visit([&](const auto& s) { return s.momentum(step); }, schedule);
      std::visit(
          [&](auto& opt) {
            if constexpr (requires { opt.momentum; })
              if (momentum) opt.momentum = *momentum;
            opt.step(m->parameters(), m->gradients(), lr);
          },
          optimizer);
      if (!all_finite(m->parameters()) || !all_finite(m->buffers()))
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

    // Training's loss can stay small while evaluation mode, on the running statistics, has collapsed.
    last_eval = evaluate_on(*m, data.test, data.normalised, group);
    if (last_eval.constant_output && !test_images_equal)
      diverged("the network's output no longer depends on its input (all " + std::to_string(data.test.count) +
                   " test images give the same output)",
               epoch);
    if (last_eval.loss > 2 * progress.initial_loss)
      diverged("the validation loss rose to " + exact_text(last_eval.loss) + " (untrained: " +
                   exact_text(progress.initial_loss) + ")",
               epoch);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const epoch_report e{.record = {static_cast<int>(epoch), loss_sum / seen, 100.0 * correct / seen, last_eval.loss,
                                    last_eval.accuracy, lr, seconds},
                         .epochs = r.epochs,
                         .images_per_second = seen / train_seconds,
                         .first_batch_loss = first_batch_loss,
                         .best = progress.best_epoch == 0 || last_eval.accuracy >= progress.best_val_acc};
    progress.epoch = epoch;
    if (e.best) {
      progress.best_epoch = epoch;
      progress.best_val_acc = last_eval.accuracy;
    }
    progress.log_row = epoch_log::row(e.record);
    for (epoch_observer* observer : observers) observer->epoch_done(e);
    if (epoch == o.stop_after) {
      std::printf("stopped after epoch %zu as asked; continue with --resume\n", epoch);
      return;
    }
  }

  if (last_eval.predictions.empty()) {  // resumed a finished run: its report again (a crash may have cut it short)
    std::printf("the run finished its %zu epochs; its report again\n", r.epochs);
    last_eval = evaluate_on(*m, data.test, data.normalised, group);
  }
  std::printf("final validation accuracy %.2f%%, best %.2f%%\n", last_eval.accuracy, progress.best_val_acc);
  if (group.size() > 1)
    std::printf("rank 0 spent %.2f s exchanging with the other processes (waiting for them included)\n",
                group.seconds_exchanging());
  for (epoch_observer* observer : observers) observer->run_done(data.test, last_eval.predictions);
}

void train(const trainable_network& network, const recipe& r, const run_options& o) {
  idx_directory data(find_data_dir(o.data, o.data_fallbacks));
  train(network, r, o, data);
}

void evaluate(const trainable_network& network, const run_options& o, const std::filesystem::path& checkpoint) {
  const auto threads = thread_limit(o.threads);
  processes& group = join_run();
  const std::unique_ptr<trainable> m = network.make(1000);
  const auto metadata = load_weights(checkpoint, *m);
  const std::optional<pixel_moments> normalisation = read_normalisation(checkpoint, metadata);
  if (!normalisation)
    std::printf("%s does not record its data's normalisation: using the training set's\n", checkpoint.c_str());
  idx_directory source(find_data_dir(o.data, o.data_fallbacks));
  const loaded_data data = load_data(network.description, source, 0, normalisation);
  const evaluation e = evaluate_on(*m, data.test, data.normalised, group);
  std::printf("%s: validation loss %.4f, accuracy %.2f%% (%zu images)\n", checkpoint.c_str(), e.loss, e.accuracy,
              data.test.count);
  print_confusion(data.test, e.predictions);
  if (!group.writer()) return;
  if (o.misclassified)
    draw_misclassified(*o.misclassified, data.test, data.normalised, e.predictions, o.plot_misclassified, data.black, data.white);
  if (o.export_onnx) write_onnx(*o.export_onnx, *m, data.normalisation);
}

int trainer_program(int argc, char** argv, const trainable_network& network, recipe r, run_options o,
                    const std::string& description) {
  int exit_code = 0;
  if (!parse_command_line(argc, argv, r, o, exit_code, description)) return exit_code;
  // One line; on a terminal, after ending the progress bar's.
  const char* const line_break = ::isatty(STDOUT_FILENO) == 1 ? "\n" : "";
  try {
    if (o.predict) {
      const auto threads = thread_limit(o.threads);
      predict(network, o, *o.predict, o.predict_images);
    } else if (o.evaluate) evaluate(network, o, *o.evaluate);
    else train(network, r, o);
    return 0;
  } catch (const training_error& e) {
    std::fprintf(stderr, "%sstopped: %s\n", line_break, e.what());
    run_processes().abandon(2);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%serror: %s\n", line_break, e.what());
    run_processes().abandon(1);
    return 1;
  }
}

}  // namespace typenet

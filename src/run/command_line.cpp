// The trainer's command line, built once into typenet::run.
#include "typenet/run/command_line.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

#include "registry.hpp"

namespace typenet {

bool parse_command_line(int argc, char** argv, recipe& r, run_options& o, int& exit_code, const std::string& description) {
  CLI::App app(description);
  app.option_defaults()->always_capture_default();
  // Clearer than CLI11's PositiveNumber ("Value 0 not in range 0.000000 to 1.79e308").
  const auto number_check = [](const char* name, bool (*ok)(double), std::string rule) {
    return CLI::Validator(
        [=](std::string& text) -> std::string {
          try {
            return ok(std::stod(text)) ? "" : rule + ", not " + text;
          } catch (const std::exception&) {
            return "needs a number, not " + text;
          }
        },
        name);
  };
  const CLI::Validator positive = number_check("POSITIVE", [](double v) { return v > 0; }, "must be more than 0");
  const CLI::Validator non_negative = number_check("NONNEGATIVE", [](double v) { return v >= 0; }, "must be 0 or more");
  // A count is digits only: CLI11 would read "-1" into an unsigned option as 2^64 - 1.
  const auto count_from = [](std::uint64_t least, std::uint64_t most) {
    return CLI::Validator(
        [=](std::string& text) -> std::string {
          const std::string range = "a whole number from " + std::to_string(least) + " to " + std::to_string(most);
          if (text.empty() || !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; }))
            return "needs " + range + ", not " + text;
          errno = 0;
          const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
          return errno == ERANGE || value < least || value > most ? "needs " + range + ", not " + text : "";
        },
        "COUNT");
  };
  constexpr std::uint64_t any = std::numeric_limits<std::uint64_t>::max();
  app.add_option("--data", o.data, "directory with the IDX files (else $TYPENET_DATA, data/mnist, data, the copy in the project)");
  app.add_option("--epochs", r.epochs, "epochs to train")->check(count_from(1, 100'000));
  app.add_option("--batch", r.batch, "samples per batch (at most the training images)")->check(count_from(1, 1'000'000));
  app.add_option("--optimizer", r.optimizer, "one of the optimizers")->check(CLI::IsMember(detail::names_of(detail::optimizers)));
  app.add_option("--lr", r.lr, "learning rate (the peak, for one-cycle)")->check(positive);
  app.add_option("--schedule", r.schedule, "learning-rate schedule, stepped every batch")
      ->check(CLI::IsMember(detail::names_of(detail::schedules)));
  app.add_option("--momentum", r.momentum, "SGD momentum (one-cycle cycles it between 0.85 and 0.95)")->check(CLI::Range(0.0, 1.0));
  app.add_flag("--nesterov", r.nesterov, "Nesterov momentum");
  app.add_option("--weight-decay", r.weight_decay, "L2 penalty (decoupled for adamw)")->check(non_negative);
  app.add_option("--step-epochs", r.step_epochs, "step schedule: epochs between decays")->check(count_from(1, 100'000));
  app.add_option("--step-gamma", r.step_gamma, "step schedule: factor of each decay")->check(positive);
  app.add_option("--rotate", r.augment.rotation_degrees, "augmentation: random rotation within +-degrees (0: off)")
      ->check(CLI::Range(0.0, 180.0));
  app.add_option("--translate", r.augment.translate_pixels, "augmentation: random shift within +-pixels, less than the image (0: off)")
      ->check(count_from(0, 10'000));
  app.add_option("--crop-padding", r.augment.crop_padding, "augmentation: random crop after padding by pixels, less than the image (0: off)")
      ->check(count_from(0, 10'000));
  app.add_option("--seed", r.seed, "seed of initialisation, shuffling, dropout and augmentation")->check(count_from(0, any));
  app.add_option("--threads", o.threads, "worker threads (0: all cores); results do not depend on it")
      ->check(count_from(0, 1024));
  app.add_option("--checkpoint-dir", o.checkpoint_dir, "where checkpoints, log and pictures go");
  app.add_flag("--resume", o.resume, "continue from <checkpoint-dir>/last.safetensors");
  app.add_option("--stop-after", o.stop_after, "stop after this epoch (continue later with --resume)")
      ->check(count_from(0, 100'000));
  app.add_option("--log", o.log, "CSV of per-epoch metrics (default <checkpoint-dir>/log.csv; an earlier run's goes aside to <log>.<time>)");
  app.add_option("--train-limit", r.train_limit, "train on the first N training images only (0: all)")
      ->check(count_from(0, any));
  CLI::Option* const init_from =
      app.add_option("--init-from", r.init_from, "start from the weights of this state_dict (model.safetensors, a checkpoint, or PyTorch's)")
          ->check(CLI::ExistingFile);
  CLI::Option* const evaluate =
      app.add_option("--evaluate", o.evaluate, "evaluate this checkpoint or state_dict on the test set and stop")
          ->check(CLI::ExistingFile)
          ->excludes(init_from);
  app.add_option("--misclassified", o.misclassified, "with --evaluate: draw the misclassified test images into this PNG");
  app.add_option("--predict", o.predict, "classify the image files given after the options with this checkpoint and stop")
      ->check(CLI::ExistingFile)
      ->excludes(evaluate);
  app.add_option("images", o.predict_images, "with --predict: image files (PNG, JPEG, BMP, ...), converted to the network's input");
  app.add_option("--top", o.top, "with --predict: the most probable classes printed per image")->check(count_from(1, 1'000'000));
  app.add_flag("--json", o.json, "with --predict: the predictions as one JSON document");
  app.add_flag("--invert", o.invert, "with --predict: the images are dark on light: invert them");
  app.add_option("--export-onnx", o.export_onnx,
                 "write the network as ONNX to this file: at the end of the run, or with --evaluate the checkpoint's");
  try {
    app.parse(argc, argv);
    if (o.predict && o.predict_images.empty()) throw CLI::ValidationError("--predict", "names no image file to classify");
    if (!o.predict && !o.predict_images.empty())
      throw CLI::ValidationError("images", "'" + o.predict_images.front() + "' and any others need --predict CHECKPOINT");
  } catch (const CLI::Success& e) {  // --help
    exit_code = app.exit(e);
    return false;
  } catch (const CLI::ParseError& e) {
    // One line naming the option (CLI11's own exit adds a second, "Run with --help").
    std::cerr << "error: " << e.what() << "\n";
    exit_code = e.get_exit_code();
    return false;
  }
  return true;
}

}  // namespace typenet

// The generated trainer on real MNIST data: a short training run that must
// learn, resuming that is bit-identical to not stopping, checkpoints that refuse
// another network, and a run that stops cleanly when the loss blows up.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <typenet/io/safetensors.hpp>
#include <typenet/run.hpp>
#include <typenet/trainer_main.hpp>

#include "../../examples/ref11k.hpp"
#include "../layers/square_layer.hpp"

using namespace typenet;

namespace {
struct scratch_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("typenet-trainer-" + std::to_string(::getpid()) + "-" +
                                boost::unit_test::framework::current_test_case().p_name.get());
  scratch_dir() { std::filesystem::remove_all(path); }
  ~scratch_dir() { std::filesystem::remove_all(path); }
};

// A run's recipe and options, trained with train(r, o).
struct small_run {
  recipe r;
  run_options o;
  explicit small_run(const std::filesystem::path& dir) {
    o.data = TYPENET_TEST_DATA_DIR;
    o.checkpoint_dir = dir.string();
    o.threads = 2;
    r.batch = 64;
  }
  template <class Net = examples::ref11k>
  void train() const {
    typenet::train(trainable_network_of<Net>(), r, o);
  }
};

// The last row of the trainer's CSV log, as numbers.
std::vector<double> last_log_row(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  std::string line, last;
  std::getline(in, line);
  BOOST_TEST(line == "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds");
  while (std::getline(in, line)) last = line;
  std::vector<double> row;
  std::stringstream cells(last);
  for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
  return row;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_short_run_learns_mnist) {
  scratch_dir dir;
  small_run run(dir.path);
  run.r.epochs = 2;
  run.r.train_limit = 6000;
  run.train();
  const auto row = last_log_row(dir.path / "log.csv");
  BOOST_TEST(row.at(0) == 2);
  BOOST_TEST_MESSAGE("validation accuracy after 2 epochs on 6,000 images: " << row.at(4) << "%");
  BOOST_TEST(row.at(4) > 90.0);  // accuracy on the 10,000 test images, in percent
  BOOST_TEST(row.at(3) < 0.5);   // validation loss
  BOOST_TEST(std::filesystem::exists(dir.path / "last.safetensors"));
  BOOST_TEST(std::filesystem::exists(dir.path / "best.safetensors"));
  BOOST_TEST(std::filesystem::exists(dir.path / "misclassified.png"));
}

BOOST_AUTO_TEST_CASE(resuming_gives_the_same_weights_as_not_stopping) {
  scratch_dir dir;
  small_run straight(dir.path / "straight");
  straight.r.epochs = 2;
  straight.r.train_limit = 640;
  straight.r.augment.translate_pixels = 1;  // every random stream in play: init, shuffle, dropout, augmentation
  straight.train();

  small_run interrupted = straight;
  interrupted.o.checkpoint_dir = (dir.path / "interrupted").string();
  interrupted.o.stop_after = 1;
  interrupted.train();
  interrupted.o.stop_after = 0;
  interrupted.o.resume = true;
  interrupted.o.threads = 1;  // and on another thread count
  interrupted.train();

  const auto a = load_safetensors(dir.path / "straight" / "last.safetensors");
  const auto b = load_safetensors(dir.path / "interrupted" / "last.safetensors");
  BOOST_TEST(a.metadata.at("epoch") == "2");
  BOOST_TEST(b.metadata.at("epoch") == "2");
  BOOST_REQUIRE(a.tensors.size() == b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    BOOST_TEST_CONTEXT(a.tensors[i].name) { BOOST_TEST((a.tensors[i].data == b.tensors[i].data)); }
  }
  BOOST_TEST(last_log_row(dir.path / "interrupted" / "log.csv").at(0) == 2);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_another_network_is_refused) {
  scratch_dir dir;
  std::filesystem::create_directories(dir.path);
  model_trainable<examples::ref11k> m(1);
  m.initialize(1);
  save_checkpoint(dir.path / "ref11k.safetensors", m, std::vector<double>{}, {});

  using other = network<input<1, 28, 28>, conv<8, 3>, batch_norm, relu, global_avg_pool, dense<10>, log_softmax>;
  model_trainable<other> o(1);
  std::vector<double> state;
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir.path / "ref11k.safetensors", o, state), checkpoint_error,
                        [](const checkpoint_error& e) {
                          const std::string what = e.what();
                          return what.find("ref11k.safetensors") != std::string::npos &&
                                 what.find("another network") != std::string::npos &&
                                 what.find("'0.weight' has shape [16,1,3,3]") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(a_loss_that_blows_up_stops_training_with_advice) {
  scratch_dir dir;
  small_run run(dir.path);
  run.r.epochs = 1;
  run.r.train_limit = 640;
  run.r.schedule = "constant";
  run.r.lr = 1e30;
  BOOST_CHECK_EXCEPTION(run.train(), training_error, [](const training_error& e) {
    return std::string(e.what()).find("lower --lr") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(data_of_the_wrong_shape_is_refused) {
  scratch_dir dir;
  small_run run(dir.path);
  using small_input = network<input<1, 20, 20>, conv<4, 3>, global_avg_pool, dense<10>, log_softmax>;
  BOOST_CHECK_EXCEPTION(run.train<small_input>(), data_error, [](const data_error& e) {
    return std::string(e.what()).find("holds 60000 images of 28x28 but the network's input is 1x20x20") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(command_line_fills_the_options_and_refuses_bad_numbers) {
  const auto parse = [](std::vector<std::string> words, recipe& r, run_options& o, int& code) {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    return parse_command_line(static_cast<int>(argv.size()), argv.data(), r, o, code, "test");
  };
  recipe r;
  run_options o;
  int code = 0;
  BOOST_TEST(parse({"t", "--epochs", "3", "--lr", "0.2", "--weight-decay", "0", "--threads", "3"}, r, o, code));
  BOOST_TEST(r.epochs == 3u);
  BOOST_TEST(r.lr == 0.2);
  BOOST_TEST(o.threads == 3u);
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"t", "--epochs", "0"}, {"t", "--lr", "-1"},
                                              {"t", "--batch", "x"}, {"t", "--weight-decay", "-0.5"}}) {
    recipe fresh;
    run_options fresh_options;
    code = 0;
    BOOST_TEST(!parse(bad, fresh, fresh_options, code));
    BOOST_TEST(code != 0);
  }
}

// Reported: each was accepted by wrapping around (-1 as 2^64 - 1) or overflowed later.
BOOST_AUTO_TEST_CASE(negative_and_absurd_counts_are_refused_naming_the_option) {
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--threads", "-1"}, {"--seed", "-1"}, {"--stop-after", "-1"}, {"--train-limit", "-1"},
        {"--epochs", "18446744073709551615"}, {"--translate", "-3"}, {"--crop-padding", "9223372036854775807"},
        {"--batch", "1.5"}}) {
    std::vector<std::string> words{"t", bad[0], bad[1]};
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    recipe r;
    run_options o;
    int code = 0;
    std::stringstream said;
    auto* const saved = std::cerr.rdbuf(said.rdbuf());
    const bool parsed = parse_command_line(static_cast<int>(argv.size()), argv.data(), r, o, code, "test");
    std::cerr.rdbuf(saved);
    BOOST_TEST(!parsed, bad[0] << " " << bad[1] << " was accepted");
    BOOST_TEST(code != 0);
    BOOST_TEST(said.str().starts_with("error: " + bad[0] + ": needs a whole number from"), said.str());
    BOOST_TEST(std::ranges::count(said.str(), '\n') == 1, said.str());  // one line
  }
}

BOOST_AUTO_TEST_CASE(a_batch_larger_than_the_training_set_is_refused_before_training) {
  scratch_dir dir;
  small_run run(dir.path);
  run.r.train_limit = 1000;
  run.r.batch = 1001;
  BOOST_CHECK_EXCEPTION(run.train(), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()) == "--batch 1001: more than the 1000 training images";
  });
}

BOOST_AUTO_TEST_CASE(a_batch_that_cannot_fit_in_memory_is_refused_before_allocating) {
  using huge = network<input<1, 1000, 1000>, conv<64, 3, 1, 1>, global_avg_pool, dense<10>, log_softmax>;
  BOOST_TEST(model<huge>::bytes_for(10'000) > 1e12);  // 64 maps of 1000x1000 floats a sample, kept and twice in backward
  BOOST_CHECK_EXCEPTION(check_batch_fits(trainable_network_of<huge>(), 10'000, 60'000), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()).starts_with("--batch 10000: the model would need ");
  });
  BOOST_CHECK_NO_THROW(check_batch_fits(trainable_network_of<examples::ref11k>(), 128, 60'000));
}

BOOST_AUTO_TEST_CASE(a_shift_as_large_as_the_image_is_refused) {
  scratch_dir dir;
  small_run run(dir.path);
  run.r.augment.translate_pixels = 28;
  BOOST_CHECK_EXCEPTION(run.train(), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()) == "--translate 28: a shift of 28 pixels or more leaves nothing of a 28x28 image (at most 27)";
  });
}

namespace {
// A data source of its own: 3 classes of 8x8 images, class c a bright band at rows 2c and 2c + 1.
class banded_images final : public data_source {
 public:
  std::string name() const override { return "banded images"; }
  dataset training_set(dynamic_shape input, std::size_t) override { return make(input, 300); }
  dataset test_set(dynamic_shape input, std::size_t) override { return make(input, 90); }

 private:
  static dataset make(dynamic_shape input, std::size_t count) {
    dataset d{.count = count, .image = {1, 8, 8}, .classes = 3};
    BOOST_TEST(input.size() == 64u);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t label = static_cast<std::uint8_t>(i % 3);
      d.labels.push_back(label);
      for (std::size_t p = 0; p < 64; ++p)
        d.pixels.push_back(p / 8 / 2 == label ? 0.8f + 0.01f * static_cast<float>(i % 7) : 0.1f);
    }
    return d;
  }
};

// Every epoch's record and the final predictions, as a caller's observer sees them.
struct recording_observer final : epoch_observer {
  std::vector<epoch_report> epochs;
  std::size_t predictions = 0;
  void epoch_done(const epoch_report& e) override { epochs.push_back(e); }
  void run_done(const dataset&, std::span<const std::size_t> p) override { predictions = p.size(); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_data_source_of_its_own_trains_and_observers_see_every_epoch) {
  scratch_dir dir;
  small_run run(dir.path);
  run.r.epochs = 3;
  run.r.batch = 30;
  run.r.augment.rotation_degrees = 0;
  using banded_net = network<input<1, 8, 8>, flatten, dense<3>, log_softmax>;
  banded_images source;
  recording_observer observer;
  epoch_observer* const observers[] = {&observer};
  train(trainable_network_of<banded_net>(), run.r, run.o, source, observers);
  BOOST_REQUIRE(observer.epochs.size() == 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    BOOST_TEST(observer.epochs[e].record.epoch == static_cast<int>(e + 1));
    BOOST_TEST(observer.epochs[e].epochs == 3u);
  }
  BOOST_TEST(observer.epochs.back().record.val_accuracy == 100.0);
  BOOST_TEST(observer.predictions == 90u);
  BOOST_TEST(last_log_row(dir.path / "log.csv").at(0) == 3);
}


BOOST_AUTO_TEST_CASE(onnx_export_refuses_a_layer_it_knows_no_operator_for_naming_it_and_writes_nothing) {
  scratch_dir dir;
  std::filesystem::create_directories(dir.path);
  // A layer of the user's own (layer.hpp's example), which ONNX export knows no operator for.
  model_trainable<network<input<4>, dense<4>, tests::square, dense<2>, log_softmax>> m(1);
  m.initialize(1);
  const auto onnx = dir.path / "square.onnx";
  BOOST_CHECK_EXCEPTION(export_onnx(onnx, m, std::nullopt), onnx_export_error, [&](const onnx_export_error& e) {
    return std::string(e.what()) == onnx.string() + ": layer 1 (square) has no ONNX operator that ONNX export knows";
  });
  BOOST_TEST(std::filesystem::is_empty(dir.path));
}

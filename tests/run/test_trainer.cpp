// The generated trainer on real MNIST data: a short training run that must
// learn, resuming that is bit-identical to not stopping, checkpoints that refuse
// another network, and a run that stops cleanly when the loss blows up.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <nlohmann/json.hpp>
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
  // Every training batch counted, as PyTorch counts them, across the resume too: 2 epochs of 10.
  BOOST_TEST(b.values<std::int64_t>("1.num_batches_tracked", {})[0] == 20);
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

namespace {
// The data offsets of a safetensors file's tensors, from its header.
std::map<std::string, std::uint64_t> data_offsets(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t size = 0;
  in.read(reinterpret_cast<char*>(&size), 8);
  std::string header(size, ' ');
  in.read(header.data(), static_cast<std::streamsize>(size));
  std::map<std::string, std::uint64_t> offsets;
  const auto json = nlohmann::json::parse(header);
  for (const auto& [name, entry] : json.items())
    if (name != "__metadata__") offsets[name] = entry.at("data_offsets")[0].get<std::uint64_t>();
  return offsets;
}

// ref11k after two training steps of one image each, its weights in dir/model.safetensors.
struct saved_ref11k {
  model_trainable<examples::ref11k> m{1};
  std::filesystem::path path;
  explicit saved_ref11k(const std::filesystem::path& dir) : path(dir / "model.safetensors") {
    std::filesystem::create_directories(dir);
    m.initialize(1);
    const std::vector<float> image(28 * 28, 0.5f), label{3};
    for (int step = 0; step < 2; ++step) m.train_step(image, label, 1, 0);
    save_weights(path, m, {});
  }
};

std::int64_t batches_tracked(trainable& m, const std::string& name) {
  const auto slots = m.tensors();
  return std::get<std::span<std::int64_t>>(std::ranges::find(slots, name, &tensor_slot::name)->values)[0];
}

// Loads `from`, lets `edit` change it, saves it as `to`.
void rewrite(const std::filesystem::path& from, const std::filesystem::path& to,
             const std::function<void(std::vector<tensor_view>&)>& edit) {
  const safetensors_file file = load_safetensors(from);
  std::vector<tensor_view> views;
  for (const stored_tensor& t : file.tensors)
    std::visit([&](const auto& values) { views.push_back({t.name, t.shape, std::span(values)}); }, t.data);
  edit(views);
  save_safetensors(to, views, file.metadata);
}
}  // namespace

// Reported: PyTorch read the 32 tensors, but refused the file for its optimizer state, and
// typenet refused PyTorch's for the six num_batches_tracked.
BOOST_AUTO_TEST_CASE(the_weights_are_pytorchs_state_dict_with_num_batches_tracked) {
  scratch_dir dir;
  saved_ref11k saved(dir.path);
  const safetensors_file file = load_safetensors(saved.path);
  BOOST_TEST(file.tensors.size() == 32u + 6u);
  std::size_t counts = 0;
  for (const stored_tensor& t : file.tensors)
    if (t.name.ends_with(".num_batches_tracked")) {
      ++counts;
      BOOST_TEST(file.values<std::int64_t>(t.name, {})[0] == 2, t.name);  // one per training forward
    }
  BOOST_TEST(counts == 6u);
  BOOST_TEST(file.values<std::int64_t>("23.num_batches_tracked", {})[0] == 2);
  BOOST_TEST(file.metadata.at("format") == "pt");

  model_trainable<examples::ref11k> loaded(1);
  load_weights(saved.path, loaded);
  BOOST_TEST((loaded.parameters()[7] == saved.m.parameters()[7]));
  BOOST_TEST(batches_tracked(loaded, "1.num_batches_tracked") == 2);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_keeps_its_optimizer_state_aligned_under_a_name_no_state_dict_has) {
  scratch_dir dir;
  std::filesystem::create_directories(dir.path);
  using three_to_one = network<input<3>, dense<1>>;  // 12 bytes of weights: the state started at byte 12
  model_trainable<three_to_one> m(1);
  m.initialize(1);
  save_checkpoint(dir.path / "last.safetensors", m, std::vector<double>{0.5, 0.25, 0.125}, {});
  const auto offsets = data_offsets(dir.path / "last.safetensors");
  BOOST_TEST(offsets.size() == 2u);
  BOOST_TEST(offsets.at(".optimizer.state") % 8 == 0u);
  BOOST_TEST(offsets.at("0.weight") % 4 == 0u);
  std::vector<double> state;
  load_checkpoint(dir.path / "last.safetensors", m, state);
  BOOST_TEST(state == (std::vector<double>{0.5, 0.25, 0.125}));
  // Its own tensors are no state_dict's, so load_weights passes over them.
  BOOST_CHECK_NO_THROW(load_weights(dir.path / "last.safetensors", m));
}

BOOST_AUTO_TEST_CASE(load_weights_refuses_another_state_dict_naming_the_file_and_the_tensor) {
  scratch_dir dir;
  saved_ref11k saved(dir.path);
  const auto refused = [&](const std::string& what, const std::function<void(std::vector<tensor_view>&)>& edit,
                           const std::string& problem) {
    BOOST_TEST_CONTEXT(what) {
      const auto path = dir.path / (what + ".safetensors");
      rewrite(saved.path, path, edit);
      model_trainable<examples::ref11k> m(1);
      m.initialize(2);
      const std::vector<float> before(m.parameters().begin(), m.parameters().end());
      BOOST_CHECK_EXCEPTION(load_weights(path, m), checkpoint_error, [&](const checkpoint_error& e) {
        const std::string said = e.what();
        BOOST_TEST_INFO(said);
        return said.starts_with(path.string() + ": ") && said.find(problem) != std::string::npos;
      });
      BOOST_TEST(std::ranges::equal(m.parameters(), before));  // a refused file changes nothing
    }
  };
  const auto named = [](std::vector<tensor_view>& views, const std::string& name) -> tensor_view& {
    return *std::ranges::find(views, name, &tensor_view::name);
  };
  refused("missing", [](auto& v) { std::erase_if(v, [](auto& t) { return t.name == "4.weight"; }); },
          "has no tensor '4.weight'");
  const std::vector<float> extra{1, 2};
  refused("extra", [&](auto& v) { v.push_back({"29.bias", {2}, extra}); }, "has a tensor '29.bias', which this network has not");
  refused("shape", [&](auto& v) { named(v, "27.weight").shape = {5, 32}; }, "tensor '27.weight' has shape [5,32]");
  const std::vector<double> wide(16 * 9, 0.5);
  refused("dtype", [&](auto& v) { named(v, "0.weight").data = std::span(wide); }, "tensor '0.weight' is F64, this network's is F32");
  const std::vector<float> count{2};
  refused("count dtype", [&](auto& v) { named(v, "1.num_batches_tracked").data = std::span(count); },
          "tensor '1.num_batches_tracked' is F32, this network's is I64");
  const std::vector<float> nan(16, NAN);
  refused("NaN", [&](auto& v) { named(v, "5.running_var").data = std::span(nan); }, "tensor '5.running_var' holds nan");

  // As PyTorch reads a state_dict without num_batches_tracked (an older one): the count starts at 0.
  rewrite(saved.path, dir.path / "uncounted.safetensors",
          [](auto& v) { std::erase_if(v, [](auto& t) { return t.name.ends_with("num_batches_tracked"); }); });
  model_trainable<examples::ref11k> m(1);
  load_weights(dir.path / "uncounted.safetensors", m);
  BOOST_TEST(batches_tracked(m, "1.num_batches_tracked") == 0);
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
        d.pixels.push_back(p / 8 / 2 == label ? static_cast<std::uint8_t>(204 + 3 * (i % 7)) : std::uint8_t{26});
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

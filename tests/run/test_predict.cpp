// Classifying image files: test-set digits written as PNG files get, from the
// trainer's --predict and from predictor<Net>, the classes that evaluating the
// checkpoint on the test set (what --evaluate does) gives them; colour and
// other sizes are converted and said so; bad files are refused naming them.
// The network is the fault tests' (tests/run/fault_net.hpp), trained briefly.
#include <boost/process.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <typenet/io/image_file.hpp>
#include <typenet/io/png.hpp>
#include <typenet/run.hpp>
#include <typenet/run/predictor.hpp>

#include "fault_net.hpp"
#include "program_run.hpp"

namespace fs = std::filesystem;
namespace bp = boost::process;
using namespace typenet;
using net = tests::fault_net;

namespace {

constexpr std::size_t digits = 120;

// One short training, its checkpoint, the first test digits as PNG files, and the
// classes the checkpoint gives those digits on the test set as loaded from IDX.
struct trained_fixture {
  fs::path dir = fs::temp_directory_path() / ("typenet-predict-" + std::to_string(::getpid()));
  fs::path checkpoint = dir / "run" / "last.safetensors";
  std::vector<std::string> pngs;
  std::vector<std::size_t> evaluated;  // the checkpoint's class for each digit
  std::vector<std::uint8_t> labels;

  trained_fixture() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    recipe r;
    r.epochs = 4, r.batch = 64, r.train_limit = 10000;
    run_options o;
    o.data = TYPENET_TEST_DATA_DIR, o.checkpoint_dir = (dir / "run").string(), o.threads = 2;
    train(trainable_network_of<net>(), r, o);

    dataset test = load_idx_dataset(TYPENET_TEST_DATA_DIR, "t10k");
    for (std::size_t i = 0; i < digits; ++i) {
      pngs.push_back((dir / ("digit-" + std::to_string(i) + ".png")).string());
      write_png(pngs.back(), test.image_bytes(i), 28, 28);
    }
    const auto m = trainable_network_of<net>().make(256);
    const pixel_moments moments = load_trained_weights(checkpoint, *m);
    std::vector<float> images(digits * 784);
    pixel_normalisation(moments).convert(std::span(test.pixels).first(images.size()), images.data());
    const std::vector<float> targets(test.labels.begin(), test.labels.end());
    const auto outputs = m->evaluate(images, targets, digits).outputs;
    for (std::size_t i = 0; i < digits; ++i) {
      const auto first = outputs.begin() + static_cast<std::ptrdiff_t>(i * 10);
      evaluated.push_back(static_cast<std::size_t>(std::max_element(first, first + 10) - first));
    }
    labels.assign(test.labels.begin(), test.labels.begin() + digits);
  }
  ~trained_fixture() { fs::remove_all(dir); }
};

// Trained once, for every case.
const trained_fixture& trained() {
  static const trained_fixture fixture;
  return fixture;
}

tests::outcome run_trainer(const std::vector<std::string>& args, const fs::path& dir) {
  return tests::run_program(TYPENET_FAULT_TRAINER, args, dir);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(predict)

BOOST_AUTO_TEST_CASE(the_trainer_predicts_what_evaluation_gives_each_digit) {
  const auto& [dir, checkpoint, pngs, evaluated, labels] = trained();
  std::vector<std::string> args = {"--predict", checkpoint.string(), "--json", "--top", "2"};
  args.insert(args.end(), pngs.begin(), pngs.end());
  const tests::outcome r = run_trainer(args, dir);
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  const auto document = nlohmann::json::parse(r.out);
  BOOST_TEST_REQUIRE(document.size() == digits);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    BOOST_TEST(document[i]["file"] == pngs[i]);
    BOOST_TEST(document[i]["conversion"] == "");
    BOOST_TEST_REQUIRE(document[i]["top"].size() == 2u);
    BOOST_TEST(document[i]["top"][0]["class"].get<std::size_t>() == evaluated[i], "digit " << i);
    BOOST_TEST(document[i]["top"][0]["probability"].get<double>() >= document[i]["top"][1]["probability"].get<double>());
    correct += evaluated[i] == labels[i];
  }
  // 428 parameters after four short epochs: about 67% (chance: 10%), enough for predictions to mean something.
  BOOST_TEST(correct > digits / 2, correct << " of " << digits << " right: the network did not learn");
}

BOOST_AUTO_TEST_CASE(model_safetensors_predicts_as_the_checkpoint_does) {
  const auto& [dir, checkpoint, pngs, evaluated, labels] = trained();
  const std::vector<std::string> images(pngs.begin(), pngs.begin() + 20);
  std::vector<std::string> from_checkpoint = {"--predict", checkpoint.string()}, from_model = {"--predict", (checkpoint.parent_path() / "model.safetensors").string()};
  from_checkpoint.insert(from_checkpoint.end(), images.begin(), images.end());
  from_model.insert(from_model.end(), images.begin(), images.end());
  const tests::outcome a = run_trainer(from_checkpoint, dir), b = run_trainer(from_model, dir);
  BOOST_TEST_REQUIRE(a.exit_code == 0, a.err);
  BOOST_TEST_REQUIRE(b.exit_code == 0, b.err);
  BOOST_TEST(a.out == b.out);
}

BOOST_AUTO_TEST_CASE(a_predictor_gives_one_image_and_a_batch_the_same_probabilities) {
  const auto& [dir, checkpoint, pngs, evaluated, labels] = trained();
  predictor<net> p(checkpoint, 32);  // a batch of 120 runs in four
  std::vector<float> all;
  for (std::size_t i = 0; i < digits; ++i) {
    const image_file image = read_image_file(pngs[i], p.input());
    const auto one = p.predict(image.pixels);
    BOOST_TEST(static_cast<std::size_t>(std::ranges::max_element(one) - one.begin()) == evaluated[i], "digit " << i);
    all.insert(all.end(), image.pixels.begin(), image.pixels.end());
    if (i == 7) BOOST_TEST(std::abs(std::accumulate(one.begin(), one.end(), 0.0) - 1) < 1e-5);
  }
  const std::vector<float> batch = p.predict(all, digits);
  for (std::size_t i = 0; i < digits; ++i) {
    const image_file image = read_image_file(pngs[i], p.input());
    const auto one = p.predict(image.pixels);
    BOOST_TEST(std::equal(one.begin(), one.end(), batch.begin() + static_cast<std::ptrdiff_t>(i * 10)), "digit " << i);
  }
}

BOOST_AUTO_TEST_CASE(colour_and_other_sizes_are_converted_and_said_so) {
  const auto& [dir, checkpoint, pngs, evaluated, labels] = trained();
  // Digit 0 as RGB (grey in every channel: the same digit), as 56x56, and inverted (dark on light).
  const image_file grey = read_image_file(pngs[0], {1, 28, 28});
  std::vector<std::uint8_t> rgb, big(56 * 56), dark(28 * 28);
  for (float v : grey.pixels) rgb.insert(rgb.end(), 3, static_cast<std::uint8_t>(std::lround(v * 255)));
  for (std::size_t y = 0; y < 56; ++y)
    for (std::size_t x = 0; x < 56; ++x) big[y * 56 + x] = rgb[((y / 2) * 28 + x / 2) * 3];
  for (std::size_t p = 0; p < 784; ++p) dark[p] = static_cast<std::uint8_t>(255 - rgb[p * 3]);
  write_png(dir / "rgb.png", rgb, 28, 28, pixel_format::rgb);
  write_png(dir / "big.png", big, 56, 56);
  write_png(dir / "dark.png", dark, 28, 28);

  const image_file from_rgb = read_image_file(dir / "rgb.png", {1, 28, 28});
  BOOST_TEST(from_rgb.conversion == "28x28 RGB to grey");
  BOOST_TEST(from_rgb.pixels == grey.pixels);
  const image_file from_big = read_image_file(dir / "big.png", {1, 28, 28});
  BOOST_TEST(from_big.conversion == "56x56 grey, resized to 28x28");
  const image_file from_dark = read_image_file(dir / "dark.png", {1, 28, 28}, true);
  BOOST_TEST(from_dark.conversion == "28x28 grey, inverted");
  for (std::size_t p = 0; p < 784; ++p) BOOST_TEST(std::abs(from_dark.pixels[p] - grey.pixels[p]) < 1e-6f);
  const image_file as_colour = read_image_file(pngs[0], {3, 28, 28});
  BOOST_TEST(as_colour.conversion == "28x28 grey to RGB");
  BOOST_TEST(std::equal(grey.pixels.begin(), grey.pixels.end(), as_colour.pixels.begin() + 784 * 2));

  const tests::outcome r = run_trainer({"--predict", checkpoint.string(), (dir / "rgb.png").string(),
                                    (dir / "big.png").string(), (dir / "dark.png").string(), "--invert"},
                                   dir);
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  std::istringstream lines(r.out);
  std::string rgb_line, big_line, dark_line;
  std::getline(lines, rgb_line), std::getline(lines, big_line), std::getline(lines, dark_line);
  // --invert applies to every image: the RGB one is now dark on light, the inverted one as digit 0 was.
  BOOST_TEST(rgb_line.find("[28x28 RGB to grey, inverted]") != std::string::npos, rgb_line);
  BOOST_TEST(big_line.find("[56x56 grey, resized to 28x28, inverted]") != std::string::npos, big_line);
  BOOST_TEST(dark_line.rfind((dir / "dark.png").string() + ":  " + std::to_string(evaluated[0]) + " (", 0) == 0, dark_line);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_an_image_is_refused_naming_it_before_any_answer) {
  const auto& [dir, checkpoint, pngs, evaluated, labels] = trained();
  std::ofstream(dir / "notes.png") << "not a picture\n";
  const tests::outcome r = run_trainer({"--predict", checkpoint.string(), pngs[0], (dir / "notes.png").string()}, dir);
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find(pngs[0] + ":") == std::string::npos, "printed an answer before refusing: " << r.out);
  BOOST_TEST(r.err == "error: " + (dir / "notes.png").string() + ": not an image stb_image can read (unknown image type)\n");

  const tests::outcome missing = run_trainer({"--predict", checkpoint.string(), (dir / "missing.png").string()}, dir);
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.err == "error: " + (dir / "missing.png").string() + ": no such file\n");

  const tests::outcome no_predict = run_trainer({pngs[0]}, dir);
  BOOST_TEST(no_predict.exit_code != 0);
  BOOST_TEST(no_predict.err.find("need --predict CHECKPOINT") != std::string::npos, no_predict.err);

  // Two ways to stop without training are one too many.
  const tests::outcome both = run_trainer({"--predict", checkpoint.string(), "--evaluate", checkpoint.string(), pngs[0]}, dir);
  BOOST_TEST(both.exit_code != 0);
  BOOST_TEST(both.err == "error: --evaluate excludes --predict\n");
}

BOOST_AUTO_TEST_SUITE_END()

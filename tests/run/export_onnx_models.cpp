// The models tests/run/check_onnx.py runs in OpenCV: export_onnx_models DIR trains
// two small MNIST networks briefly and writes, for each, DIR/<name>.onnx and
// DIR/<name>.typenet.f32, typenet's outputs on the 10,000 test images (float32,
// image-major) for the script to compare with OpenCV's. Between them the networks
// have every layer kind that ONNX export knows.
//   conv_net:  --export-onnx's path (run_options::export_onnx, at the end of the run)
//   dense_net: export_onnx() from the C++ API, on the checkpoint loaded back
//   dense_softmax_net: the same, with dense_net's weights
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <typenet/run.hpp>
#include <typenet/typenet.hpp>

using namespace typenet;

namespace {

using conv_net = network<input<1, 28, 28>,
    conv<8, 3, 1, 1>, batch_norm, relu, dropout<0.05>,  // 8x28x28 (padding 1)
    max_pool<2>,                                        // 8x14x14
    conv<12, 1, 1, 0, bias::on>,                        // 12x14x14, a 1x1 transition with bias
    depthwise_conv<3, 1, 1>,                            // 12x14x14, Conv with group = 12
    conv<16, 3, 1, 1>, batch_norm, relu,                // 16x14x14
    avg_pool<2>,                                        // 16x7x7
    conv<16, 3, 2, 1, bias::on>, relu,                  // 16x4x4 (stride 2)
    global_avg_pool, dense<16, bias::on>, relu,         // 16
    conv<10, 1, 1, 0, bias::on>,                        // 10x1x1: a conv on a vector (ONNX: reshaped to a map)
    log_softmax>;

using dense_net = network<input<1, 28, 28>,
    avg_pool<4>, flatten,                               // 49
    dense<32, bias::on>, typenet::tanh, dense<16>, sigmoid, dense<10, bias::on>, log_softmax>;

// dense_net's layers with softmax last, for dense_net's weights (nll_loss would train it badly).
using dense_softmax_net = network<input<1, 28, 28>,
    avg_pool<4>, flatten, dense<32, bias::on>, typenet::tanh, dense<16>, sigmoid, dense<10, bias::on>, softmax>;

// Trains Net for 2 epochs on 6,000 images into DIR/name, exporting at the end when
// `at_end`; returns the final model, loaded back from last.safetensors.
template <class Net>
std::unique_ptr<trainable> train_briefly(const std::filesystem::path& dir, const std::string& name, bool at_end,
                                         pixel_moments& normalisation) {
  recipe r;
  r.epochs = 2;
  r.optimizer = "adam";
  r.lr = 0.01;
  r.batch = 64;
  r.train_limit = 6000;
  r.augment.rotation_degrees = 0;
  run_options o;
  o.data = TYPENET_TEST_DATA_DIR;
  o.checkpoint_dir = (dir / name).string();
  o.threads = 2;
  if (at_end) o.export_onnx = (dir / (name + ".onnx")).string();
  const trainable_network net = trainable_network_of<Net>();
  train(net, r, o);

  std::unique_ptr<trainable> m = net.make(1000);
  std::vector<double> ignored;
  const auto metadata = load_checkpoint(dir / name / "last.safetensors", *m, ignored);
  normalisation = {std::stod(metadata.at("data_mean")), std::stod(metadata.at("data_std"))};
  return m;
}

// The test images normalised as the run normalised them, through m.
void write_outputs(const std::filesystem::path& path, trainable& m, pixel_moments normalisation) {
  idx_directory mnist(TYPENET_TEST_DATA_DIR);
  dataset test = mnist.test_set(m.description().input, m.description().output_size);
  std::vector<float> images(test.pixels.size());
  pixel_normalisation(normalisation).convert(test.pixels, images.data());
  const std::vector<float> labels(test.labels.begin(), test.labels.end());
  const auto e = m.evaluate(images, labels, test.count);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(e.outputs.data()), static_cast<std::streamsize>(e.outputs.size() * sizeof(float)));
  if (!out) throw std::runtime_error(path.string() + ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: export_onnx_models DIR\n");
    return 1;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  try {
    pixel_moments normalisation{};
    const auto conv_model = train_briefly<conv_net>(dir, "conv_net", true, normalisation);
    write_outputs(dir / "conv_net.typenet.f32", *conv_model, normalisation);

    const auto dense_model = train_briefly<dense_net>(dir, "dense_net", false, normalisation);
    export_onnx(dir / "dense_net.onnx", *dense_model, normalisation);
    write_outputs(dir / "dense_net.typenet.f32", *dense_model, normalisation);

    const auto softmax_model = trainable_network_of<dense_softmax_net>().make(1000);
    std::ranges::copy(dense_model->parameters(), softmax_model->parameters().begin());
    export_onnx(dir / "dense_softmax_net.onnx", *softmax_model, normalisation);
    write_outputs(dir / "dense_softmax_net.typenet.f32", *softmax_model, normalisation);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

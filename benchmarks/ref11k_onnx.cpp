// The model of benchmarks/run's inference-engine peers: ref11k (examples/ref11k.hpp) as ONNX.
//
//   ref11k_onnx FILE.onnx     writes FILE.onnx, FILE.onnx.inputs.f32 and FILE.onnx.outputs.f32
//
// No data set is needed, so a clean build can make it: ref11k is initialised (seed 1) and trained for
// 30 SGD steps of batch 128 on the same random images as typenet_bench, so that the weights and the
// batch-norm running statistics are not their initial values (inference time does not depend on them).
// The .inputs.f32 file holds 16 of those images and .outputs.f32 typenet's eval-mode outputs for them
// (float32, image-major), for a peer to check that it computes the same network before timing it.
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <typenet/learn/optimizer.hpp>
#include <typenet/run.hpp>

#include "../examples/ref11k.hpp"

namespace {
void write_floats(const std::string& path, std::span<const float> values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size_bytes()));
  if (!out) throw std::runtime_error(path + ": cannot write");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ref11k_onnx FILE.onnx\n");
    return 2;
  }
  const std::string path = argv[1];
  using net = examples::ref11k;
  constexpr std::size_t batch = 128, checked = 16;
  try {
    typenet::random_sequence rng(1);
    std::vector<float> images(batch * net::input_size), labels(batch);
    for (float& x : images) x = static_cast<float>(rng.uniform(-0.4, 2.8));
    for (float& y : labels) y = static_cast<float>(rng.below(10));

    std::unique_ptr<typenet::trainable> m = typenet::trainable_network_of<net>().make(batch);
    m->initialize(1);
    typenet::sgd opt{.momentum = 0.9};
    for (std::uint64_t step = 1; step <= 30; ++step) {
      m->train_step(images, labels, batch, step);
      opt.step(m->parameters(), m->gradients(), 0.01);
    }
    // MNIST's moments as metadata only: the model itself takes normalised input.
    typenet::export_onnx(path, *m, typenet::pixel_moments{0.1307, 0.3081});

    const std::span<const float> inputs(images.data(), checked * net::input_size);
    const auto e = m->evaluate(inputs, std::span<const float>(labels).first(checked), checked);
    write_floats(path + ".inputs.f32", inputs);
    write_floats(path + ".outputs.f32", e.outputs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s (ref11k, %zu parameters, 30 SGD steps on random images)\n", path.c_str(),
              static_cast<std::size_t>(net::parameter_count));
}

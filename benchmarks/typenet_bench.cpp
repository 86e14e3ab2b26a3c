// typenet's side of benchmarks/run: ref11k at batch 128 (training step with SGD),
// inference at batch 1000, single-image latency. Prints `key value` lines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tbb/global_control.h>
#include <typenet/learn/loss.hpp>
#include <typenet/engine/model.hpp>
#include <typenet/learn/optimizer.hpp>
#include <vector>

#include "../examples/ref11k.hpp"

namespace {
using net = examples::ref11k;
using clock_type = std::chrono::steady_clock;

// Median over repeats of the seconds one call of f takes.
template <class F>
double median_seconds(int repeats, int calls, F f) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto start = clock_type::now();
    for (int c = 0; c < calls; ++c) f();
    t.push_back(std::chrono::duration<double>(clock_type::now() - start).count() / calls);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t threads = 2;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::stoul(argv[i + 1]);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);

  typenet::random_sequence rng(1);
  std::vector<float> images(1000 * net::input_size), labels(1000);
  for (float& x : images) x = static_cast<float>(rng.uniform(-0.4, 2.8));
  for (float& y : labels) y = static_cast<float>(rng.below(10));

  typenet::model<net> train(128);
  train.initialize(1);
  typenet::sgd opt{.momentum = 0.9};
  std::uint64_t step = 0;
  const double train_step = median_seconds(5, 20, [&] {
    train.train_forward_backward<typenet::nll_loss>(images, labels, 128, ++step);
    opt.step(train.parameters(), std::span<const float>(train.gradients()), 0.01);
  });

  typenet::model<net> infer(1000);
  infer.initialize(1);
  const double infer_batch = median_seconds(5, 3, [&] { infer.forward(images, 1000, typenet::mode::eval); });

  typenet::single_sample_model<net> single(1);
  single.initialize(1);
  const double latency = median_seconds(7, 50, [&] { single.forward(images, 1, typenet::mode::eval); });

  const double train_rate = 128 / train_step;
  std::printf("threads %zu\n", threads);
  std::printf("train_images_per_s %.0f\n", train_rate);
  std::printf("infer_images_per_s %.0f\n", 1000 / infer_batch);
  std::printf("latency_ms %.4f\n", latency * 1e3);
  // Forward, input gradient and weight gradient: three times the forward's multiply-adds, 2 flops each.
  std::printf("train_gflops %.1f\n", train_rate * 3 * 2 * net::multiply_adds / 1e9);
}

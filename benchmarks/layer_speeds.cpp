// Each weighted layer (conv, dense) of ref11k alone, its data in cache, on one thread: the GFLOP/s
// of its forward (a block of samples, and one sample) and of its backward (weight
// and input gradient), to set beside peak_flops --threads 1. What a training step
// loses beyond these is the passes between the kernels (README, "Where the time goes").
//
//   layer_speeds    prints: layer <index> <name> <output shape> forward <GFLOP/s> backward <GFLOP/s> one_sample <GFLOP/s>
//                   then all <the same, over every layer's time>, and training_kernels_gflops <forward and
//                   backward together>: what a training step would reach if it were its kernels only
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>
#include <tbb/global_control.h>
#include <typenet/core/random.hpp>
#include <typenet/net/layer.hpp>

#include "ref11k.hpp"

namespace {
using net = examples::ref11k;

// Median over 7 repeats of the seconds one call of f takes, in repeats of about 20 ms.
template <class F>
double seconds_per_call(F f) {
  f();
  const auto start = std::chrono::steady_clock::now();
  f();
  const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int calls = std::max(1, static_cast<int>(0.02 / std::max(once, 1e-9)));
  std::vector<double> t;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / calls);
  }
  std::ranges::sort(t);
  return t[t.size() / 2];
}

// Layer I's kernels on one block of Lanes samples: {forward, backward} seconds.
template <std::size_t I, std::size_t Lanes>
std::pair<double, double> layer_seconds() {
  using L = net::layer<I>;
  using V = typenet::pack<float, Lanes>;
  typenet::random_sequence rng(I);
  const auto filled = [&](std::size_t n) {
    std::vector<V> v(n + 64);  // a one-sample kernel may read past the end
    for (V& x : v)
      for (std::size_t l = 0; l < Lanes; ++l) x[l] = static_cast<float>(rng.uniform(-1, 1));
    return v;
  };
  std::vector<V> in = filled(L::input_shape::size), out = filled(L::output_shape::size);
  std::vector<V> d_out = filled(L::output_shape::size), d_in = filled(L::input_shape::size);
  std::vector<V> scratch(typenet::scratch_packs<L, Lanes>() + 64);
  std::vector<float> params(L::parameter_count), grads(L::parameter_count);
  for (float& p : params) p = static_cast<float>(rng.uniform(-0.3, 0.3));
  typenet::block_args<V, float> a{};
  a.params = params.data(), a.grads = grads.data(), a.in = in.data(), a.out = out.data();
  a.d_out = d_out.data(), a.d_in = I == 0 ? nullptr : d_in.data(), a.scratch = scratch.data();
  a.valid = V{} + 1.0f;
  a.run_mode = typenet::mode::eval;
  return {seconds_per_call([&] { L::forward(a); }), seconds_per_call([&] { L::backward(a); })};
}
}  // namespace

int main() {
  tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
  double flops_all = 0, forward_all = 0, backward_all = 0, one_sample_all = 0, backward_flops_all = 0;  // per sample
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    const auto report = [&]<std::size_t J>() {
      using L = net::layer<J>;
      if constexpr (net::facts[J].role == typenet::layer_role::linear) {
        constexpr std::size_t lanes = typenet::default_lanes<float>;
        const auto [forward, backward] = layer_seconds<J, lanes>();
        const double one_sample = layer_seconds<J, 1>().first;
        const double flops = 2.0 * L::multiply_adds;  // a forward's, one sample
        const double backward_flops = (J == 0 ? 1 : 2) * flops;  // no input gradient for the first layer
        flops_all += flops, backward_flops_all += backward_flops;
        forward_all += forward / lanes, backward_all += backward / lanes, one_sample_all += one_sample;
        using S = typename L::output_shape;
        std::printf("layer %2zu %-6s %2zux%2zux%2zu forward %6.1f backward %6.1f one_sample %6.1f\n", J,
                    net::facts[J].name.data(), S::channels, S::height, S::width, flops * lanes / forward / 1e9,
                    backward_flops * lanes / backward / 1e9, flops / one_sample / 1e9);
      }
    };
    (report.template operator()<I>(), ...);
  }(std::make_index_sequence<net::depth>{});
  std::printf("all %25s forward %6.1f backward %6.1f one_sample %6.1f\n", "", flops_all / forward_all / 1e9,
              backward_flops_all / backward_all / 1e9, flops_all / one_sample_all / 1e9);
  // benchmarks/run's measure: three forwards' multiply-adds a training image.
  std::printf("training_kernels_gflops %.1f\n", 3 * flops_all / (forward_all + backward_all) / 1e9);
}

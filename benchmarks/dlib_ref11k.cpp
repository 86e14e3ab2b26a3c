// dlib side of the ref11k side-by-side benchmark (MNIST-shaped input 1x28x28, random data).
//
// Usage: dlib_ref11k [--threads N] [--repeats R (>=5, default 5)] [--steps S (default 20)] [--latency-runs L]
// (With Debian's reference BLAS one step of 128 takes about a second: benchmarks/run uses fewer steps.)
// Prints key value lines: params, train_images_per_s, infer_images_per_s, latency_ms, train_gflops.
//
// Network (same as benchmarks/pytorch_ref11k.py):
//   con3x3 1->16, bn, relu, dropout .05 | con3x3 16->16, bn, relu, dropout | max_pool 2 | con1x1 16->10 |
//   con3x3 10->16 .. | con3x3 16->16 .. | con3x3 16->16 .. | con3x3 16->16 pad 1 .. | avg_pool_everything |
//   fc_no_bias 10 | loss_multiclass_log (softmax + NLL)
// Notes on the dlib mapping:
//  * dlib's con_ has a bias; it is switched off with disable_duplicative_biases() (every con followed by
//    bn_con) and disable_bias() on the 1x1 con, so the trainable parameter count is the reference 11,312.
//  * dlib's dropout_ defaults to rate 0.5 and 19.24 has no dropout_custom: the rate is set to 0.05 by
//    assigning dropout_(0.05f) to each dropout layer after construction.
//  * Training: dnn_trainer::train_one_step on one fixed batch of 128, sgd(weight_decay 0, momentum 0.9).
//  * Inference: dlib's bn_ always uses batch statistics for batches > 1, so (as in dlib's examples) the
//    trained net is copied into the test-time type (bn_con -> affine, dropout -> multiply), then
//    fuse_layers() folds each affine into the preceding con (dlib 19.24's own inference optimisation).
//  * Threads: dlib's CPU kernels are single-threaded except inside BLAS (conv = im2col + sgemm, fc = sgemm),
//    so N threads can only mean BLAS threads: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS are
//    set to N here before the first BLAS call (the run script sets them too). With Debian's default
//    reference BLAS (libblas3) there is no threading at all.
#include <dlib/dnn.h>
#include <dlib/revision.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using namespace dlib;

namespace {

// 3x3 stride-1 convolution with explicit padding (dlib's default for stride 1 is "same", nr/2).
template <long N, int PAD, typename SUBNET>
using con3 = add_layer<con_<N, 3, 3, 1, 1, PAD, PAD>, SUBNET>;
template <long N, typename SUBNET>
using con1 = add_layer<con_<N, 1, 1, 1, 1, 0, 0>, SUBNET>;

// BN = bn_con (training) or affine (inference); DROP = dropout (training) or multiply (inference).
template <template <typename> class BN, template <typename> class DROP, int PAD, typename SUBNET>
using block = DROP<relu<BN<con3<16, PAD, SUBNET>>>>;

template <template <typename> class BN, template <typename> class DROP>
using ref11k = loss_multiclass_log<fc_no_bias<10, avg_pool_everything<
    block<BN, DROP, 1,                       // 8: 16x6x6 (padding 1)
    block<BN, DROP, 0,                       // 7: 16x6x6
    block<BN, DROP, 0,                       // 6: 16x8x8
    block<BN, DROP, 0,                       // 5: 16x10x10
    con1<10,                                 // 4: 10x12x12
    max_pool<2, 2, 2, 2,                     // 3: 16x12x12
    block<BN, DROP, 0,                       // 2: 16x24x24
    block<BN, DROP, 0,                       // 1: 16x26x26
    input<matrix<float>>>>>>>>>>>>>;

using train_net = ref11k<bn_con, dropout>;
using infer_net = ref11k<affine, multiply>;

constexpr double kMacsPerImage = 1904992;  // conv + linear multiply-adds of one forward pass

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<matrix<float>> random_images(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<matrix<float>> v(n);
  for (auto& m : v) {
    m.set_size(28, 28);
    for (auto& x : m) x = nd(rng);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, repeats = 5, steps = 20, latency_runs = 300;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::max(5, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--steps")) steps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--latency-runs")) latency_runs = std::max(1, std::atoi(argv[++i]));
  }
  // BLAS threads (read by OpenBLAS / MKL / OpenMP at their first use; an existing value wins).
  const std::string nt = std::to_string(threads);
  setenv("OPENBLAS_NUM_THREADS", nt.c_str(), 0);
  setenv("OMP_NUM_THREADS", nt.c_str(), 0);
  setenv("MKL_NUM_THREADS", nt.c_str(), 0);

  std::mt19937 rng(1);
  std::srand(1);
  auto x_train = random_images(128, rng);
  std::vector<unsigned long> y_train(128);
  for (auto& y : y_train) y = rng() % 10;
  auto x_infer = random_images(1000, rng);
  auto x_one = random_images(1, rng);

  train_net net;
  visit_computational_layers(net, [](auto& l) {
    using L = std::decay_t<decltype(l)>;
    if constexpr (std::is_same_v<L, dropout_>) l = dropout_(0.05f);       // dlib's default rate is 0.5
    if constexpr (std::is_same_v<L, con_<10, 1, 1, 1, 1, 0, 0>>) l.disable_bias();  // layer 4, no bn after
  });
  disable_duplicative_biases(net);  // every con followed by bn_con: no bias

  dnn_trainer<train_net> trainer(net, sgd(0.0f, 0.9f));
  trainer.set_learning_rate(0.01);
  trainer.set_mini_batch_size(128);
  trainer.be_quiet();

  // Warm-up (also allocates the parameters), then timed repeats; get_net() waits for the trainer thread.
  for (int i = 0; i < 5; ++i) trainer.train_one_step(x_train, y_train);
  trainer.get_net();
  const size_t params = count_parameters(net);
  std::vector<double> train;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = clock_type::now();
    for (int i = 0; i < steps; ++i) trainer.train_one_step(x_train, y_train);
    trainer.get_net();
    train.push_back(steps * 128.0 / seconds_since(t0));
  }

  // Inference net: bn_con -> affine (running statistics), dropout -> multiply, then fuse affine into con.
  infer_net tnet = trainer.get_net();
  fuse_layers(tnet);
  std::vector<double> infer;
  {
    auto labels = tnet(x_infer, 1000);  // warm-up
    if (labels.size() != 1000) return 2;
  }
  for (int r = 0; r < repeats; ++r) {
    auto t0 = clock_type::now();
    for (int i = 0; i < 3; ++i) {
      auto labels = tnet(x_infer, 1000);
      (void)labels;
    }
    infer.push_back(3 * 1000.0 / seconds_since(t0));
  }
  std::vector<double> lat;
  for (int i = 0; i < 50; ++i) (void)tnet(x_one[0]);
  for (int i = 0; i < latency_runs; ++i) {
    auto t0 = clock_type::now();
    volatile unsigned long label = tnet(x_one[0]);
    (void)label;
    lat.push_back(seconds_since(t0) * 1e3);
  }

  const double tr = median(train);
  std::printf("threads %d\n", threads);
  std::printf("dlib_version %d.%d\n", DLIB_MAJOR_VERSION, DLIB_MINOR_VERSION);
  std::printf("params %zu\n", params);
  std::printf("train_images_per_s %.1f\n", tr);
  std::printf("infer_images_per_s %.1f\n", median(infer));
  std::printf("latency_ms %.4f\n", median(lat));
  std::printf("train_gflops %.2f\n", tr * 6 * kMacsPerImage * 1e-9);
  return params == 11312 ? 0 : 1;
}

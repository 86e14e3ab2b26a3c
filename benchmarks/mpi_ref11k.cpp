// Data-parallel training of ref11k at batch 128 on the processes of an MPI job:
// images/s of the whole job and the time per step each process spends in the
// exchange (gathering batch norm's sums and the losses, folding the gradient slices
// along the chain of processes; waiting for the others included), and those exchanges alone. Prints `key value`
// lines on rank 0. ref11k's batch norms all have 16 channels.
//   mpirun -np 2 build/benchmarks/mpi_ref11k --threads 1     (2 processes x 1 thread)
//   build/benchmarks/mpi_ref11k --threads 2                  (1 process x 2 threads)
// benchmarks/mpi compares the two, several rounds interleaved.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <tbb/global_control.h>
#include <typenet/engine/model.hpp>
#include <typenet/learn/loss.hpp>
#include <typenet/learn/optimizer.hpp>
#include <typenet/run/processes.hpp>
#include <vector>

#include "../examples/ref11k.hpp"

int main(int argc, char** argv) {
  using net = examples::ref11k;
  std::size_t threads = 1, steps = 40;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--steps") == 0) steps = std::stoul(argv[i + 1]);
  }
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  typenet::processes& group = typenet::run_processes();

  constexpr std::size_t batch = 128;
  typenet::random_sequence rng(1);  // the same batch on every process; each takes its share
  std::vector<float> images(batch * net::input_size), labels(batch);
  for (float& x : images) x = static_cast<float>(rng.uniform(-0.4, 2.8));
  for (float& y : labels) y = static_cast<float>(rng.below(10));

  typenet::model<net> m(batch);
  if (group.size() > 1) m.share_batches(&group);
  m.initialize(1);
  const typenet::unit_range mine = m.batch_share(batch);
  const std::span<const float> inputs = std::span<const float>(images).subspan(mine.first * net::input_size);
  const std::span<const float> targets = std::span<const float>(labels).subspan(mine.first);
  typenet::sgd opt{.momentum = 0.9};
  const auto step = [&](std::uint64_t key) {
    m.train_forward_backward<typenet::nll_loss>(inputs, targets, batch, key);
    opt.step(m.parameters(), std::span<const float>(m.gradients()), 0.01);
  };
  for (std::uint64_t k = 0; k < 5; ++k) step(k);  // warm-up
  const double exchanged_before = group.seconds_exchanging();
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t k = 0; k < steps; ++k) step(100 + k);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double exchanging = (group.seconds_exchanging() - exchanged_before) / static_cast<double>(steps);

  // A step's exchanges alone, every process starting each together: the cost of moving
  // the bytes, without waiting for a slower process's compute.
  constexpr std::size_t blocks = (batch + decltype(m)::lanes - 1) / decltype(m)::lanes;
  constexpr std::size_t sums = [] {  // batch-norm sums per block, forward and backward
    std::size_t n = 0;
    for (std::size_t i = 0; i < net::depth; ++i) n += net::facts[i].role == typenet::layer_role::normalization;
    return n;
  }();
  std::vector<float> slices(blocks * net::parameter_count), gradient(net::parameter_count), bn(blocks * 2 * 16),
      losses(blocks);
  double alone = 0;
  for (std::size_t k = 0; k < steps; ++k) {
    group.total(0);  // together
    const auto begin = std::chrono::steady_clock::now();
    for (std::size_t layer = 0; layer < 2 * sums; ++layer) group.gather_values(std::span(bn), 2 * 16);
    group.fold(gradient.data(), slices.data(), net::parameter_count, blocks);
    group.gather_values(std::span(losses), 1);
    group.total(1);
    alone += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  }

  if (!group.writer()) return 0;
  std::printf("processes %zu\nthreads %zu\n", group.size(), threads);
  std::printf("train_images_per_s %.0f\n", static_cast<double>(batch * steps) / seconds);
  std::printf("step_ms %.3f\n", 1e3 * seconds / static_cast<double>(steps));
  std::printf("exchange_ms_per_step %.3f\n", 1e3 * exchanging);
  std::printf("exchange_alone_ms_per_step %.3f\n", 1e3 * alone / static_cast<double>(steps));
  std::printf("lanes %zu\n", decltype(m)::lanes);
  std::printf("gradient_bytes_per_link_per_step %zu\n", net::parameter_count * sizeof(float));
  std::printf("batch_norm_bytes_per_step %zu\n", 2 * sums * bn.size() * sizeof(float));
}

// peak_flops: measures this machine's fp32 FMA throughput in GFLOP/s, on one thread and on N threads.
//
// Each thread runs kChains independent FMA chains on the widest vector register the target has (512-bit
// zmm with AVX-512, else 256-bit ymm), enough to cover FMA latency x number of FMA ports. Compile with
// -O3 -march=native so the vector type maps to one register and a*b+c to one vfmadd instruction.
//
// Usage: peak_flops [--threads N]   (default N = hardware_concurrency)
// Prints key value lines: peak_gflops_1thread X, peak_gflops_Nthreads X, threads N.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#ifdef __AVX512F__
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
using vnf = float __attribute__((vector_size(kLanes * sizeof(float))));

namespace {

constexpr int kChains = 12;

// Returns a value depending on the accumulators so the compiler cannot drop the loop.
__attribute__((noinline)) float fma_kernel(long iterations, float seed) {
  // Twelve named accumulators (not an array) so that they all live in vector registers.
  vnf a0 = vnf{} + seed * 1, a1 = vnf{} + seed * 2, a2 = vnf{} + seed * 3, a3 = vnf{} + seed * 4;
  vnf a4 = vnf{} + seed * 5, a5 = vnf{} + seed * 6, a6 = vnf{} + seed * 7, a7 = vnf{} + seed * 8;
  vnf a8 = vnf{} + seed * 9, a9 = vnf{} + seed * 10, a10 = vnf{} + seed * 11, a11 = vnf{} + seed * 12;
  // Multiplier just below 1 and a small addend: values stay finite, no denormals.
  const vnf mul = vnf{} + 0.999999f;
  const vnf add = vnf{} + 1e-7f;
  for (long i = 0; i < iterations; ++i) {
    a0 = a0 * mul + add;
    a1 = a1 * mul + add;
    a2 = a2 * mul + add;
    a3 = a3 * mul + add;
    a4 = a4 * mul + add;
    a5 = a5 * mul + add;
    a6 = a6 * mul + add;
    a7 = a7 * mul + add;
    a8 = a8 * mul + add;
    a9 = a9 * mul + add;
    a10 = a10 * mul + add;
    a11 = a11 * mul + add;
    // Opaque to the optimiser (keeps the chains), free at run time (registers stay put).
    asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    asm volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  vnf s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
  float r = 0;
  for (int l = 0; l < kLanes; ++l) r += s[l];
  return r;
}

constexpr double kFlopsPerIteration = kChains * kLanes * 2.0;  // 12 vectors x lanes x (mul + add)

// Runs the kernel on `threads` threads, `iterations` each; returns GFLOP/s (best of `repeats`).
double measure(int threads, long iterations, int repeats) {
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    std::vector<std::thread> pool;
    std::vector<float> sink(threads);
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sink[t] = fma_kernel(iterations, 1.0f + t); });
    for (auto& th : pool) th.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    volatile float keep = sink[0];
    (void)keep;
    best = std::max(best, kFlopsPerIteration * iterations * threads / s * 1e-9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
  }
  // Warm up (AVX-512 frequency licence, CPU wake-up) and calibrate to about 0.1 s per window. The
  // machine may be shared, so each figure is the best of several short windows.
  {
    volatile float k = fma_kernel(20'000'000, 1.0f);
    (void)k;
  }
  long iterations = 1 << 20;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    volatile float k = fma_kernel(iterations, 1.0f);
    (void)k;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0.05) {
      iterations = static_cast<long>(iterations * 0.1 / s);
      break;
    }
    iterations *= 4;
  }
  double one = measure(1, iterations, 10);
  double many = measure(threads, iterations, 10);
  std::printf("threads %d\n", threads);
  std::printf("peak_gflops_1thread %.1f\n", one);
  std::printf("peak_gflops_Nthreads %.1f\n", many);
  return 0;
}

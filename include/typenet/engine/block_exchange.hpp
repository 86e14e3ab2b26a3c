#pragma once
// block_exchange: how the processes of a data-parallel run share one batch. Each
// process computes a contiguous range of the batch's blocks (model.hpp), and every
// sum over the batch stays the left fold g0 + g1 + ... over its blocks in block
// order, as in one process; so training is bit-identical for any number of
// processes. Two ways to it: gather() gives every process every block's values,
// and each adds them itself (batch norm's sums and the losses: a few numbers a
// block); fold() passes the running sum from process to process, each adding its
// blocks (the gradient slices: the bytes moved do not grow with the batch). The
// engine knows no transport: the run library implements this over MPI
// (src/run/mpi_processes.cpp).
//
//   struct whole_batch final : typenet::block_exchange {  // one process: every block is its own
//     typenet::unit_range share(std::size_t blocks) const override { return {0, blocks}; }
//     void gather(std::byte*, std::size_t, std::size_t, std::size_t) override {}
//     void fold(float* total, const float* units, std::size_t size, std::size_t count) override {
//       typenet::fold_units(total, units, size, {0, count});
//     }
//     void fold(double* total, const double* units, std::size_t size, std::size_t count) override {
//       typenet::fold_units(total, units, size, {0, count});
//     }
//   };
//   model.share_batches(&exchange);  // null, the default: this process computes every block
#include <algorithm>
#include <cstddef>

namespace typenet {

// Units (blocks, samples) [first, first + count) of a whole.
struct unit_range {
  std::size_t first = 0, count = 0;
};

// Process `rank` of `processes`: a contiguous share of `units`, the first
// `units % processes` processes one more; a process may get none (it still takes
// part in every gather, contributing nothing).
constexpr unit_range even_share(std::size_t units, std::size_t rank, std::size_t processes) {
  const std::size_t base = units / processes, extra = units % processes;
  return {rank * base + (rank < extra ? rank : extra), base + (rank < extra ? 1 : 0)};
}

// Adds units [range.first, range.first + range.count) of `units` (`size` values each,
// one after another) to `total` in unit order; unit 0 is copied, as one process's fold starts.
template <class T>
void fold_units(T* total, const T* units, std::size_t size, unit_range range) {
  for (std::size_t u = range.first; u < range.first + range.count; ++u) {
    const T* values = units + u * size;
    if (u == 0) std::copy_n(values, size, total);
    else for (std::size_t i = 0; i < size; ++i) total[i] += values[i];
  }
}

class block_exchange {
 public:
  virtual ~block_exchange() = default;
  // The units of `units` (a batch's blocks, a data set's samples) this process computes.
  virtual unit_range share(std::size_t units) const = 0;
  // Every process has written its share's units of `units`, `width` bytes each at
  // base + u * stride; afterwards every process holds every unit's. A collective:
  // every process calls it, in the same order.
  virtual void gather(std::byte* base, std::size_t stride, std::size_t width, std::size_t units) = 0;
  // Every process has written its share's units of `count`, `size` values each at
  // units + u * size; afterwards every process's `total` is their sum, the units
  // added in unit order (fold_units over all of them). A collective, as gather().
  virtual void fold(float* total, const float* units, std::size_t size, std::size_t count) = 0;
  virtual void fold(double* total, const double* units, std::size_t size, std::size_t count) = 0;
};

}  // namespace typenet

#pragma once
// block_exchange: how the processes of a data-parallel run share one batch. Each
// process computes a contiguous range of the batch's blocks (model.hpp); where the
// engine combines per-block values over the batch (batch norm's sums in forward and
// backward, the gradient slices, the losses), gather() gives every process every
// block's values, and each then adds them in block order exactly as one process
// does. The sum is thus the same left fold g0 + g1 + ... for any number of
// processes, and training is bit-identical to one process. The engine knows no
// transport: the run library implements this over MPI (src/run/mpi_processes.cpp).
//
//   struct whole_batch final : typenet::block_exchange {  // one process: every block is its own
//     typenet::unit_range share(std::size_t blocks) const override { return {0, blocks}; }
//     void gather(std::byte*, std::size_t, std::size_t, std::size_t) override {}
//   };
//   model.share_batches(&exchange);  // null, the default: this process computes every block
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

class block_exchange {
 public:
  virtual ~block_exchange() = default;
  // The units of `units` (a batch's blocks, a data set's samples) this process computes.
  virtual unit_range share(std::size_t units) const = 0;
  // Every process has written its share's units of `units`, `width` bytes each at
  // base + u * stride; afterwards every process holds every unit's. A collective:
  // every process calls it, in the same order.
  virtual void gather(std::byte* base, std::size_t stride, std::size_t width, std::size_t units) = 0;
};

}  // namespace typenet

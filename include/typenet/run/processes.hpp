#pragma once
// processes: the processes a run trains on. One, or under `mpirun -np P` (in a
// build with TYPENET_MPI) the P of the MPI job: they train one network, each
// computing its share of every batch (they are the model's block_exchange),
// evaluate a share of each data set each, and rank 0 alone writes (the console,
// the log, plots, checkpoints).
//
//   typenet::processes& group = typenet::run_processes();
//   if (group.size() > 1) model.share_batches(&group);
//   const typenet::unit_range mine = group.share(test_set.count);  // the samples it evaluates
#include <cstddef>
#include <span>

#include "typenet/engine/block_exchange.hpp"

namespace typenet {

class processes : public block_exchange {
 public:
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  bool writer() const { return rank() == 0; }
  unit_range share(std::size_t units) const override { return even_share(units, rank(), size()); }
  // The sum over the processes of a count (exact in any order). A collective, as gather().
  virtual std::size_t total(std::size_t local) = 0;
  // Seconds spent in gather(), fold() and total(), waiting for the others included.
  virtual double seconds_exchanging() const = 0;
  // gather() of `values`, `per_unit` of them a unit.
  template <class T>
  void gather_values(std::span<T> values, std::size_t per_unit) {
    gather(reinterpret_cast<std::byte*>(values.data()), per_unit * sizeof(T), per_unit * sizeof(T), values.size() / per_unit);
  }
  // After this process failed: ends every process of the run now with `exit_code`
  // (the others would wait for it in a collective forever). One process: returns.
  virtual void abandon(int exit_code) = 0;
};

// This run's processes: the MPI job's when launched by mpirun in a build with
// TYPENET_MPI (MPI starts at the first call and ends at exit), else this one alone.
processes& run_processes();

}  // namespace typenet

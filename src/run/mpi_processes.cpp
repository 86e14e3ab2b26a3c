// The processes of an MPI job (Open MPI): data-parallel training's exchanges are
// MPI collectives, called from the main thread only, on the run's communicator:
// the processes of this process's application context. `mpirun -np 2 A : -np 2 B`
// launches two runs (a sweep), A and B, of two processes each; a plain
// `mpirun -np P A` is one run of P processes.
//
// Sums over a batch must be the fold over its blocks in block order, whatever the
// number of processes P (an MPI_Allreduce adds partial sums in an order of its
// own, which changes with P). gather() is one MPI_Allgatherv, in place, of each
// process's units: every process then holds every block's batch-norm sums (or
// losses) and adds them itself; a few numbers a block, so its cost is latency.
// fold() is a chain: process r receives the running sum of the blocks before its
// own from r - 1, adds its blocks in order and sends it on; the last one with
// blocks broadcasts the total. Each link carries one gradient (4 bytes a
// parameter) whatever the batch, where gathering the slices would move one per
// block; the price is P - 1 hops in a row.
//
// A process that fails ends the job: Open MPI's mpirun then stops the others
// (SIGTERM), and each says so in one line before it exits.
#include "mpi_processes.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <mpi.h>
#include <unistd.h>

namespace typenet {

namespace {

// What a process stopped by mpirun writes (from a signal handler: prepared beforehand).
std::string stopped_line;

extern "C" void stopped_by_mpirun(int) {
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, stopped_line.data(), stopped_line.size());
  ::_exit(3);
}

// Adds the seconds from its making to its end to `total`: the time an exchange takes.
class exchange_timer {
 public:
  explicit exchange_timer(double& total) : total_(total) {}
  ~exchange_timer() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class mpi_processes final : public processes {
 public:
  mpi_processes() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int world_rank = 0, *application = nullptr, has_application = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &application, &has_application);
    MPI_Comm_split(MPI_COMM_WORLD, has_application ? *application : 0, world_rank, &run_);
    MPI_Comm_set_errhandler(run_, MPI_ERRORS_RETURN);
    int rank = 0, size = 1;
    MPI_Comm_rank(run_, &rank);
    MPI_Comm_size(run_, &size);
    rank_ = static_cast<std::size_t>(rank), size_ = static_cast<std::size_t>(size);
    stopped_line = "stopped: rank " + std::to_string(rank) + " of " + std::to_string(size) +
                   " was ended by mpirun (another process of the job failed, or the job was interrupted); "
                   "the checkpoints rank 0 committed remain (continue with --resume)\n";
    std::signal(SIGTERM, stopped_by_mpirun);
  }
  ~mpi_processes() override {
    MPI_Comm_free(&run_);
    MPI_Finalize();
  }

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }

  void gather(std::byte* base, std::size_t stride, std::size_t width, std::size_t units) override {
    const exchange_timer timer(seconds_);
    std::vector<int> counts(size_), firsts(size_);
    for (std::size_t r = 0; r < size_; ++r) {
      const unit_range s = even_share(units, r, size_);
      counts[r] = static_cast<int>(s.count), firsts[r] = static_cast<int>(s.first);
    }
    MPI_Datatype bytes = MPI_DATATYPE_NULL, unit = MPI_DATATYPE_NULL;  // `width` bytes, `stride` apart
    MPI_Type_contiguous(static_cast<int>(width), MPI_BYTE, &bytes);
    MPI_Type_create_resized(bytes, 0, static_cast<MPI_Aint>(stride), &unit);
    MPI_Type_commit(&unit);
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, base, counts.data(), firsts.data(), unit, run_));
    MPI_Type_free(&unit);
    MPI_Type_free(&bytes);
  }

  void fold(float* total, const float* units, std::size_t size, std::size_t count) override {
    chain(total, units, size, count, MPI_FLOAT);
  }
  void fold(double* total, const double* units, std::size_t size, std::size_t count) override {
    chain(total, units, size, count, MPI_DOUBLE);
  }

  std::size_t total(std::size_t local) override {
    const exchange_timer timer(seconds_);
    unsigned long long value = local, sum = 0;
    check(MPI_Allreduce(&value, &sum, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, run_));
    return static_cast<std::size_t>(sum);
  }

  double seconds_exchanging() const override { return seconds_; }

  void abandon(int exit_code) override { MPI_Abort(run_, exit_code); }

 private:
  template <class T>
  void chain(T* total, const T* units, std::size_t size, std::size_t count, MPI_Datatype type) {
    const exchange_timer timer(seconds_);
    const std::size_t holders = std::min(size_, count);  // even_share gives the first ones the units
    const int values = static_cast<int>(size), link = 0;
    if (rank_ < holders) {
      const int before = static_cast<int>(rank_) - 1, after = static_cast<int>(rank_) + 1;
      if (rank_ > 0) check(MPI_Recv(total, values, type, before, link, run_, MPI_STATUS_IGNORE));
      fold_units(total, units, size, share(count));
      if (rank_ + 1 < holders) check(MPI_Send(total, values, type, after, link, run_));
    }
    check(MPI_Bcast(total, values, type, static_cast<int>(holders - 1), run_));
  }

  // A failed collective (a process gone): this one cannot go on, nor finalize.
  void check(int result) {
    if (result == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(result, text, &length);
    std::fprintf(stderr, "stopped: rank %zu of %zu lost the other processes of the run (%.*s); the checkpoints rank 0 "
                         "committed remain (continue with --resume)\n", rank_, size_, length, text);
    MPI_Abort(run_, 3);
  }

  MPI_Comm run_ = MPI_COMM_NULL;  // this run's processes: its application context's
  std::size_t rank_ = 0, size_ = 1;
  double seconds_ = 0;
};

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

}  // namespace

processes* mpi_job() {
  static const std::unique_ptr<mpi_processes> job = launched_by_mpirun() ? std::make_unique<mpi_processes>() : nullptr;
  return job.get();
}

}  // namespace typenet

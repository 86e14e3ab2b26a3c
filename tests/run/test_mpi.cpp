// Data-parallel training under mpirun, against one process: the weights, batch
// norm's statistics and the optimizer state of `mpirun -np 2` and `-np 4` runs
// equal bit for bit those of one process with 1 or 2 threads; so do those of a
// run resumed with another number of processes, and of a batch with fewer blocks
// than processes. Each application context of one mpirun (a sweep) is a run of its
// own. A killed rank stops the others with a line saying so, and rank 0's
// checkpoint stays whole.
// torch_trainer's network (torch_net.hpp) has dropout and batch norm after convs
// and after a dense layer; --translate adds augmentation: every per-sample draw
// and every batch statistic is in play.
#include <boost/process.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <signal.h>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <typenet/io/safetensors.hpp>

#include "program_run.hpp"
#include "trainer_options.hpp"

namespace fs = std::filesystem;
namespace bp = boost::process;

namespace {

struct scratch_dir {
  fs::path path = fs::temp_directory_path() / ("typenet-mpi-" + std::to_string(::getpid()) + "-" +
                                               boost::unit_test::framework::current_test_case().p_name.get());
  scratch_dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_dir() { fs::remove_all(path); }
  fs::path operator/(const std::string& name) const { return path / name; }
};

using tests::read_text;

// A short run of `trainer` in `dir`: 1,000 images in batches of 60 (8 blocks of 8
// lanes, 4 of 16; the last batch 40 images), two epochs.
std::vector<std::string> run_args(const fs::path& dir, const std::vector<std::string>& more = {}) {
  return tests::with_options({"--data", TYPENET_TEST_DATA_DIR, "--checkpoint-dir", dir.string(), "--epochs", "2",
                              "--batch", "60", "--train-limit", "1000", "--translate", "1", "--seed", "5"},
                             more);
}

// mpirun's arguments that run `trainer args` on `processes` processes.
std::vector<std::string> command(const std::string& trainer, std::size_t processes, const std::vector<std::string>& args) {
  std::vector<std::string> c{"--allow-run-as-root", "--oversubscribe", "-np", std::to_string(processes), trainer};
  c.insert(c.end(), args.begin(), args.end());
  return c;
}

// `trainer args` as one process (processes = 0) or under mpirun -np `processes`.
tests::outcome run(const std::string& trainer, std::size_t processes, const std::vector<std::string>& args,
                   const scratch_dir& s) {
  return processes > 0 ? tests::run_program(TYPENET_MPIEXEC, command(trainer, processes, args), s.path)
                       : tests::run_program(trainer, args, s.path);
}

// How many times `phrase` stands in `text`.
std::size_t occurrences(const std::string& text, const std::string& phrase) {
  std::size_t count = 0;
  for (std::size_t at = 0; (at = text.find(phrase, at)) != std::string::npos; at += phrase.size()) ++count;
  return count;
}

// A checkpoint's tensors: their bytes, by name.
std::map<std::string, std::vector<std::uint8_t>> tensors_of(const fs::path& checkpoint) {
  std::map<std::string, std::vector<std::uint8_t>> bytes;
  for (const typenet::stored_tensor& t : typenet::load_safetensors(checkpoint).tensors)
    std::visit([&](const auto& v) {
      const auto* first = reinterpret_cast<const std::uint8_t*>(v.data());
      bytes[t.name].assign(first, first + v.size() * sizeof(v[0]));
    }, t.data);
  return bytes;
}

// The tensors of the checkpoint a run leaves in `dir`.
std::map<std::string, std::vector<std::uint8_t>> trained(const std::string& trainer, std::size_t processes,
                                                          const std::vector<std::string>& args, const fs::path& dir,
                                                          const scratch_dir& s) {
  const tests::outcome r = run(trainer, processes, args, s);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "exit " << r.exit_code << ": " << r.err);
  return tensors_of(dir / "last.safetensors");
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_and_four_processes_train_the_weights_of_one_process_bit_for_bit) {
  scratch_dir s;
  const auto one = trained(TYPENET_TORCH_TRAINER, 0, run_args(s / "one", {"--threads", "1"}), s / "one", s);
  BOOST_TEST(one.size() > 10u);
  BOOST_TEST((trained(TYPENET_TORCH_TRAINER, 0, run_args(s / "one-2", {"--threads", "2"}), s / "one-2", s) == one));
  BOOST_TEST((trained(TYPENET_TORCH_TRAINER, 2, run_args(s / "np2", {"--threads", "1"}), s / "np2", s) == one));
  BOOST_TEST((trained(TYPENET_TORCH_TRAINER, 4, run_args(s / "np4", {"--threads", "1"}), s / "np4", s) == one));
}

BOOST_AUTO_TEST_CASE(only_rank_0_prints_and_writes_and_evaluation_gives_one_process_numbers) {
  scratch_dir s;
  const tests::outcome one = run(TYPENET_TORCH_TRAINER, 0, run_args(s / "one"), s);
  const tests::outcome three = run(TYPENET_TORCH_TRAINER, 3, run_args(s / "np3"), s);
  BOOST_REQUIRE(one.exit_code == 0 && three.exit_code == 0);
  // The log's columns but the seconds: losses and accuracies on training and test set.
  const auto without_seconds = [](const std::string& log) {
    std::string kept;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) kept += line.substr(0, line.rfind(',')) + "\n";
    return kept;
  };
  BOOST_TEST(without_seconds(read_text(s / "np3" / "log.csv")) == without_seconds(read_text(s / "one" / "log.csv")));
  BOOST_TEST(three.out.find("processes: 3") != std::string::npos, three.out);
  BOOST_TEST(occurrences(three.out, "final validation accuracy") == 1u);
  // --evaluate split over processes: one process's line.
  const auto evaluated = [&](std::size_t processes) {
    const tests::outcome r = run(TYPENET_TORCH_TRAINER, processes,
                          {"--data", TYPENET_TEST_DATA_DIR, "--evaluate", (s / "one" / "last.safetensors").string()}, s);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const std::size_t line = r.out.find("validation loss");
    return r.out.substr(line, r.out.find('\n', line) - line);
  };
  BOOST_TEST(evaluated(2) == evaluated(0));
}

BOOST_AUTO_TEST_CASE(a_batch_of_fewer_blocks_than_processes_leaves_some_without_blocks) {
  scratch_dir s;
  // Batches of 12: 2 blocks of 8 lanes (1 of 16), so that 2 of 4 processes (3 of 4) compute nothing.
  const std::vector<std::string> small{"--batch", "12", "--train-limit", "240", "--epochs", "1"};
  const auto args = [&](const char* name) { return run_args(s / name, small); };
  const auto one = trained(TYPENET_TORCH_TRAINER, 0, args("one"), s / "one", s);
  BOOST_TEST((trained(TYPENET_TORCH_TRAINER, 4, args("np4"), s / "np4", s) == one));
}

BOOST_AUTO_TEST_CASE(a_run_resumed_with_another_number_of_processes_ends_with_the_same_weights) {
  scratch_dir s;
  const auto whole = trained(TYPENET_TORCH_TRAINER, 0, run_args(s / "whole"), s / "whole", s);
  const tests::outcome first = run(TYPENET_TORCH_TRAINER, 2, run_args(s / "split", {"--stop-after", "1"}), s);
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  BOOST_TEST((trained(TYPENET_TORCH_TRAINER, 4, run_args(s / "split", {"--resume"}), s / "split", s) == whole));
  const tests::outcome again = run(TYPENET_TORCH_TRAINER, 2, run_args(s / "split-1", {"--stop-after", "1"}), s);
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST((trained(TYPENET_TORCH_TRAINER, 0, run_args(s / "split-1", {"--resume"}), s / "split-1", s) == whole));
}

BOOST_AUTO_TEST_CASE(each_application_context_of_one_mpirun_is_a_run_of_its_own) {
  scratch_dir s;
  // A sweep: `mpirun -np 1 TRAINER seed 5 : -np 2 TRAINER seed 6` is two runs, each
  // training as if launched alone.
  const auto a = run_args(s / "a"), b = run_args(s / "b", {"--seed", "6"});
  std::vector<std::string> job = command(TYPENET_TORCH_TRAINER, 1, a);
  job.insert(job.end(), {":", "-np", "2", TYPENET_TORCH_TRAINER});
  job.insert(job.end(), b.begin(), b.end());
  const tests::outcome sweep = tests::run_program(TYPENET_MPIEXEC, job, s.path);
  BOOST_REQUIRE_MESSAGE(sweep.exit_code == 0, "exit " << sweep.exit_code << ": " << sweep.err);
  const auto alone_a = trained(TYPENET_TORCH_TRAINER, 0, run_args(s / "alone-a"), s / "alone-a", s);
  const auto alone_b = trained(TYPENET_TORCH_TRAINER, 0, run_args(s / "alone-b", {"--seed", "6"}), s / "alone-b", s);
  BOOST_TEST((alone_a != alone_b));
  BOOST_TEST((tensors_of(s / "a" / "last.safetensors") == alone_a));
  BOOST_TEST((tensors_of(s / "b" / "last.safetensors") == alone_b));
  // Each run's rank 0 prints its own lines; the one-process run says nothing of processes.
  BOOST_TEST(occurrences(sweep.out, "processes: ") == 1u, sweep.out);
  BOOST_TEST(occurrences(sweep.out, "processes: 2") == 1u, sweep.out);
  BOOST_TEST(occurrences(sweep.out, "final validation accuracy") == 2u);
}

BOOST_AUTO_TEST_CASE(a_killed_rank_stops_the_others_with_a_line_and_rank_0s_checkpoint_stays_whole) {
  scratch_dir s;
  // A long run, killed once its first epoch is committed.
  const fs::path dir = s / "run", last = dir / "last.safetensors";
  const auto args = run_args(dir, {"--epochs", "200", "--threads", "1"});
  const fs::path err = s / "stderr";
  bp::child job(bp::exe = TYPENET_MPIEXEC, bp::args = command(TYPENET_FAULT_TRAINER, 2, args),
                bp::std_out > (s / "stdout").string(), bp::std_err > err.string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(last) && job.running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_REQUIRE_MESSAGE(fs::exists(last), "no epoch committed: " << read_text(err));
  // Rank 1: mpirun's child whose environment says so.
  pid_t rank_1 = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    if (!std::ranges::all_of(e.path().filename().string(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const std::string stat = read_text(e.path() / "stat");
    const auto after_name = stat.rfind(')');
    if (after_name == std::string::npos) continue;
    std::istringstream fields(stat.substr(after_name + 2));
    char state;
    pid_t parent = 0;
    fields >> state >> parent;
    if (parent == job.id() && read_text(e.path() / "environ").find(std::string("OMPI_COMM_WORLD_RANK=1") + '\0') !=
                                  std::string::npos)
      rank_1 = std::stoi(e.path().filename().string());
  }
  BOOST_REQUIRE(rank_1 > 0);
  ::kill(rank_1, SIGKILL);
  const auto stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (job.running() && std::chrono::steady_clock::now() < stop_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_REQUIRE_MESSAGE(!job.running(), "the job still runs a minute after rank 1 was killed");
  job.wait();
  BOOST_TEST(job.exit_code() != 0);
  const std::string lines = read_text(err);
  BOOST_TEST(lines.find("stopped: rank 0 of 2 was ended by mpirun") != std::string::npos, lines);
  // The last committed checkpoint loads, and a one-process run resumes from it.
  const int epoch = std::stoi(typenet::load_safetensors(last).metadata.at("epoch"));
  BOOST_TEST(epoch >= 1);
  auto resume = args;
  resume.insert(resume.end(), {"--resume", "--stop-after", std::to_string(epoch + 1)});
  const tests::outcome resumed = run(TYPENET_FAULT_TRAINER, 0, resume, s);
  BOOST_TEST(resumed.exit_code == 0, resumed.err);
}

#pragma once
// The checkpoint directory of a run, made ready before any training: it must be
// a directory the trainer can write in; one trainer at a time holds it (an
// advisory lock, which the kernel releases however the process ends); the
// temporary files an interrupted run left are removed; and a fresh run first
// moves an earlier run's files aside, so nothing made before is overwritten.
//
//   typenet::run_directory dir("runs/mnist", /*resume=*/false);
//   typenet::save_checkpoint(dir.path() / "last.safetensors", model, state, metadata);
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "typenet/io/file_error.hpp"

namespace typenet {

class run_directory {
public:
  run_directory(const std::filesystem::path& dir, bool resume) : path_(without_trailing_slash(dir)) {
    namespace fs = std::filesystem;
    if (path_.empty()) throw std::invalid_argument("--checkpoint-dir is empty");
    std::error_code error;
    const auto status = fs::status(path_, error);
    if (fs::exists(status) && !fs::is_directory(status))
      fail("is not a directory (--checkpoint-dir names the directory of the run's checkpoints)");
    if (resume && !fs::exists(status))
      fail("nothing to resume: no such directory (train without --resume first)");
    if (fs::exists(status)) lock();
    if (!resume && fs::exists(status) && holds_an_earlier_run()) move_earlier_run_aside();
    fs::create_directories(path_, error);
    if (error) fail("cannot create the directory: " + error.message());
    if (lock_ < 0) lock();
    check_writable();
    remove_temporary_files();
  }
  run_directory(const run_directory&) = delete;
  run_directory& operator=(const run_directory&) = delete;
  ~run_directory() {
    if (lock_ >= 0) ::close(lock_);
  }

  const std::filesystem::path& path() const { return path_; }

  // A fresh run's log named outside its directory (--log) that an earlier run wrote:
  // moved to LOG.<timestamp> as the directory's files are, so that the new log holds
  // this run's epochs only. (One inside the directory went aside with it.)
  static void keep_earlier_log_aside(const std::filesystem::path& log) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::is_regular_file(log, error) || fs::file_size(log, error) == 0 || error) return;
    const fs::path beside = move_beside(log, timestamp(), "log", error);
    if (error) throw file_error(log, "cannot move the earlier run's log aside to " + beside.string() + ": " + error.message());
  }

  // "runs/x/" names runs/x; kept as given, its aside copy would be runs/x/.<timestamp>.
  static std::filesystem::path without_trailing_slash(const std::filesystem::path& dir) {
    std::filesystem::path p = dir.lexically_normal();
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
    return p;
  }

private:
  [[noreturn]] void fail(const std::string& problem) const { throw file_error(path_, problem); }

  void lock() {
    if (lock_ >= 0) ::close(lock_);
    lock_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_ < 0) fail(std::string("cannot open the directory: ") + std::strerror(errno));
    if (::flock(lock_, LOCK_EX | LOCK_NB) != 0)
      fail(errno == EWOULDBLOCK ? "another trainer is running in this directory"
                                : std::string("cannot lock the directory: ") + std::strerror(errno));
  }

  // Earlier runs moved aside inside the directory (see below) are not a run.
  static bool is_kept_run(const std::filesystem::path& entry) {
    return entry.filename().string().starts_with(kept_prefix);
  }

  bool holds_an_earlier_run() const {
    for (const auto& entry : std::filesystem::directory_iterator(path_))
      if (!is_kept_run(entry.path())) return true;
    return false;
  }

  // To DIR.<timestamp>; a directory that cannot be renamed (a mount point, or
  // ".") keeps them inside, in DIR/previous.<timestamp>.
  void move_earlier_run_aside() {
    namespace fs = std::filesystem;
    const std::string time = timestamp();
    std::error_code error;
    move_beside(path_, time, "files", error);
    if (!error) {
      ::close(lock_);  // it locked the directory now moved aside
      lock_ = -1;
      return;
    }
    const fs::path inside = unused((path_ / kept_prefix).string() + time);
    fs::create_directory(inside, error);
    if (error) fail("cannot move the earlier run's files aside: cannot create " + inside.string() + ": " + error.message());
    for (const auto& entry : fs::directory_iterator(path_)) {
      if (is_kept_run(entry.path())) continue;
      fs::rename(entry.path(), inside / entry.path().filename(), error);
      if (error)
        fail("cannot move the earlier run's " + entry.path().filename().string() + " into " + inside.string() + ": " +
             error.message());
    }
    std::printf("kept the previous run's files in %s\n", inside.c_str());
  }

  // `from` renamed to FROM.<time> (or FROM.<time>-2, ... where that is taken), and
  // said; the name it was to take, whether or not the rename failed (`error`).
  static std::filesystem::path move_beside(const std::filesystem::path& from, const std::string& time, const char* what,
                                           std::error_code& error) {
    const std::filesystem::path beside = unused(from.string() + "." + time);
    std::filesystem::rename(from, beside, error);
    if (!error) std::printf("kept the previous run's %s in %s\n", what, beside.c_str());
    return beside;
  }

  static std::filesystem::path unused(const std::string& name) {
    std::filesystem::path p = name;
    for (int n = 2; std::filesystem::exists(p); ++n) p = name + "-" + std::to_string(n);
    return p;
  }

  static std::string timestamp() {
    char text[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::localtime(&now));
    return text;
  }

  // A read-only directory is refused now, not after the first epoch.
  void check_writable() const {
    const std::filesystem::path probe = path_ / (".write-test.tmp-" + std::to_string(::getpid()));
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(std::string("cannot write in the checkpoint directory: ") + std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());
  }

  // write_file_atomically's `<name>.tmp-<pid>` of a killed run: with the lock
  // held, no other process is writing them.
  void remove_temporary_files() const {
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      const std::string name = entry.path().filename().string();
      const std::size_t mark = name.rfind(".tmp-");
      if (mark == std::string::npos || mark + 5 == name.size() ||
          name.find_first_not_of("0123456789", mark + 5) != std::string::npos)
        continue;
      std::error_code error;
      if (std::filesystem::remove(entry.path(), error))
        std::printf("removed %s, left by an interrupted run\n", entry.path().c_str());
    }
  }

  static constexpr const char* kept_prefix = "previous.";
  std::filesystem::path path_;
  int lock_ = -1;
};

}  // namespace typenet

// write_file_atomically's work: a temporary file in the target's directory,
// written, flushed, then renamed over the target.
#include "typenet/io/atomic_write.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace typenet::detail {

namespace {

// Owns the temporary file until commit(): closes and removes it otherwise.
class temporary_file {
public:
  explicit temporary_file(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  temporary_file(const temporary_file&) = delete;
  temporary_file& operator=(const temporary_file&) = delete;
  ~temporary_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  bool is_open() const { return fd_ >= 0; }

  bool write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const ::ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return true;
  }

  // fsync before close: close alone does not mean the data reached the disk.
  bool sync_and_close() {
    const bool synced = ::fsync(fd_) == 0;
    const bool closed = ::close(fd_) == 0;
    fd_ = -1;
    return synced && closed;
  }

  void commit() { committed_ = true; }

private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Makes the rename itself durable; some file systems refuse to fsync a
// directory, which is harmless, so failures are ignored.
void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::optional<std::string> write_atomically(const std::filesystem::path& path,
                                            std::span<const std::span<const std::byte>> parts) {
  auto temporary_name = path;
  temporary_name += ".tmp-" + std::to_string(::getpid());
  const auto failed = [&](const char* action) {
    const int code = errno;  // before anything below can change it
    return std::string("cannot ") + action + " " + temporary_name.string() + ": " + std::strerror(code) +
           " (any previous file is unchanged)";
  };

  temporary_file temporary(temporary_name);
  if (!temporary.is_open()) return failed("create");
  for (const auto part : parts)
    if (!temporary.write(part)) return failed("write");
  if (!temporary.sync_and_close()) return failed("flush");

  std::error_code error;
  std::filesystem::rename(temporary_name, path, error);
  if (error)
    return "cannot rename " + temporary_name.string() + " over it: " + error.message() +
           " (any previous file is unchanged)";
  temporary.commit();
  sync_directory(path.parent_path());
  return std::nullopt;
}

}  // namespace typenet::detail

#pragma once
// write_file_atomically: replace a file by new contents all at once. The bytes
// go to `<path>.tmp-<pid>` in the same directory, are flushed to the disk, and
// only then renamed over `path` (rename within a directory is atomic on POSIX).
// A crash or an error at any point leaves either the old file or the new one,
// never a half-written one, and an error removes the temporary file.
//
//   std::string text = "hello\n";
//   typenet::write_file_atomically("out/note.txt", {std::as_bytes(std::span(text))});
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "typenet/io/file_error.hpp"

namespace typenet {

namespace detail {

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
  const std::filesystem::path& path() const { return path_; }

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
inline void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace detail

// Writes the concatenation of `parts`; throws Error (a file_error) naming `path`.
template <class Error = file_error>
void write_file_atomically(const std::filesystem::path& path,
                           std::span<const std::span<const std::byte>> parts) {
  auto temporary_name = path;
  temporary_name += ".tmp-" + std::to_string(::getpid());
  const auto fail = [&](const char* action) {
    const int code = errno;
    throw Error(path, std::string("cannot ") + action + " " + temporary_name.string() + ": " +
                          std::strerror(code) + " (any previous file is unchanged)");
  };

  detail::temporary_file temporary(temporary_name);
  if (!temporary.is_open()) fail("create");
  for (const auto part : parts)
    if (!temporary.write(part)) fail("write");
  if (!temporary.sync_and_close()) fail("flush");

  std::error_code error;
  std::filesystem::rename(temporary_name, path, error);
  if (error)
    throw Error(path, "cannot rename " + temporary_name.string() + " over it: " + error.message() +
                          " (any previous file is unchanged)");
  temporary.commit();
  detail::sync_directory(path.parent_path());
}

template <class Error = file_error>
void write_file_atomically(const std::filesystem::path& path,
                           std::initializer_list<std::span<const std::byte>> parts) {
  write_file_atomically<Error>(path, std::span(parts.begin(), parts.size()));
}

}  // namespace typenet

#pragma once
// memory_file: a fuzzer's input as a path, for the readers that take one
// (read_idx opens it through zlib, load_safetensors through an ifstream). The
// file lives in memory (memfd_create), so an input costs no disk I/O and
// leaves nothing behind; it is reached as /proc/self/fd/N.
//
//   static memory_file file;
//   const std::filesystem::path& path = file.hold(data, size);  // once per input
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

class memory_file {
public:
  memory_file() : fd_(memfd_create("typenet-fuzz-input", 0)) {
    if (fd_ < 0) fail("memfd_create");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~memory_file() { close(fd_); }
  memory_file(const memory_file&) = delete;
  memory_file& operator=(const memory_file&) = delete;

  // Makes the file hold exactly `size` bytes of `data`; returns its path.
  const std::filesystem::path& hold(const std::uint8_t* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) fail("ftruncate");
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) fail("pwrite");
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }

private:
  // The harness itself failed, not the code under test.
  [[noreturn]] static void fail(const char* call) {
    std::perror(call);
    std::abort();
  }

  int fd_;
  std::filesystem::path path_;
};

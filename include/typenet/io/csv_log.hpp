#pragma once
// epoch_log: the trainer's per-epoch CSV, one row per epoch under the header
//   epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds
// with accuracies in percent. A new or empty file gets the header; an
// existing one (a resumed run) must already have it, and rows are appended.
// Each row goes to the disk as it is written, and a row that cannot be written
// whole is taken back, so a failed write leaves no partial row. A crash can
// still lose the row being written; restore() puts back the last one, as the
// run's checkpoint recorded it.
//
//   typenet::epoch_log log("runs/mnist/log.csv");
//   log.append({.epoch = 1, .train_loss = 0.3121, .train_accuracy = 90.52, .val_loss = 0.1404,
//               .val_accuracy = 95.87, .learning_rate = 0.01, .seconds = 12.5});
//   // appends "1,0.312100,90.52,0.140400,95.87,0.01,12.500"
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "typenet/io/file_error.hpp"

namespace typenet {

struct epoch_record {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0;  // accuracy in percent
  double val_loss = 0, val_accuracy = 0;
  double learning_rate = 0;
  double seconds = 0;  // wall time of the epoch
};

class epoch_log {
public:
  static constexpr std::string_view header = "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds";

  explicit epoch_log(std::filesystem::path path) : path_(std::move(path)) {
    std::error_code error;
    const auto status = std::filesystem::status(path_, error);
    if (std::filesystem::is_directory(status)) fail("is a directory, not a CSV file");
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) fail("is not a regular file");
    const bool has_rows = std::filesystem::exists(status) && std::filesystem::file_size(path_, error) > 0;
    if (has_rows) {
      std::ifstream in(path_);
      std::string first_line;
      if (!std::getline(in, first_line)) fail("cannot read its header");
      if (first_line != header)
        fail("its header is \"" + first_line + "\", expected \"" + std::string(header) +
             "\"; refusing to append to a different kind of file");
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_with_errno("cannot open for appending");
    if (has_rows) return;
    try {
      write_line(std::string(header) + "\n");
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }

  epoch_log(epoch_log&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  epoch_log& operator=(epoch_log other) noexcept {
    std::swap(path_, other.path_);
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~epoch_log() {
    if (fd_ >= 0) ::close(fd_);
  }

  void append(const epoch_record& r) { write_line(row(r) + "\n"); }

  // The text of a record's row, without the newline.
  static std::string row(const epoch_record& r) {
    char text[256];
    const int length = std::snprintf(text, sizeof text, "%d,%.6f,%.2f,%.6f,%.2f,%.6g,%.3f", r.epoch, r.train_loss,
                                     r.train_accuracy, r.val_loss, r.val_accuracy, r.learning_rate, r.seconds);
    if (length < 0 || static_cast<std::size_t>(length) >= sizeof text)
      throw std::length_error("epoch_log: a row does not fit in 256 characters");
    return std::string(text, static_cast<std::size_t>(length));
  }

  // Makes the log end with the row of `epoch`, as `row_of_epoch` (from the run's
  // checkpoint) gives it: a last line cut short by a crash is dropped, and the
  // row is appended if the crash came before it. Rows beyond `epoch` belong to
  // another run and are refused.
  void restore(int epoch, const std::string& row_of_epoch) {
    std::string text;
    {
      std::ifstream in(path_, std::ios::binary);
      text.assign(std::istreambuf_iterator<char>(in), {});
      if (in.bad()) fail("cannot read it");
    }
    const std::size_t complete = text.rfind('\n') + 1;  // 0 when there is no whole line
    if (complete < text.size() && ::ftruncate(fd_, static_cast<::off_t>(complete)) != 0)
      fail_with_errno("cannot remove the incomplete row a crash left");
    text.resize(complete);
    const std::size_t last_line = text.size() < 2 ? 0 : text.rfind('\n', text.size() - 2) + 1;
    const int last_epoch = last_line == 0 ? 0 : std::atoi(text.c_str() + last_line);
    if (last_epoch > epoch)
      fail("has rows up to epoch " + std::to_string(last_epoch) + " but the checkpoint resumed is of epoch " +
           std::to_string(epoch) + "; give another --log");
    if (last_epoch == epoch - 1) write_line(row_of_epoch + "\n");
  }

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  [[noreturn]] void fail(const std::string& problem) const { throw file_error(path_, problem); }
  [[noreturn]] void fail_with_errno(const std::string& problem) const {
    fail(problem + ": " + std::strerror(errno));
  }

  // One write() per line: with O_APPEND a line is never interleaved or torn
  // by another writer; fdatasync makes it survive a power cut too. A short
  // write (a full disk) is cut off again.
  void write_line(std::string_view line) {
    struct ::stat before{};
    if (::fstat(fd_, &before) != 0) fail_with_errno("cannot append a row");
    const ::ssize_t written = ::write(fd_, line.data(), line.size());
    if (written != static_cast<::ssize_t>(line.size())) {
      const int code = written < 0 ? errno : ENOSPC;  // a short write means the disk is full
      if (written > 0) (void)::ftruncate(fd_, before.st_size);
      errno = code;
      fail_with_errno("cannot append a row");
    }
    if (::fdatasync(fd_) != 0) fail_with_errno("cannot flush a row");
  }

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace typenet

// epoch_log: one write() and one fdatasync() per row, appended to the CSV.
#include "typenet/io/csv_log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace typenet {

epoch_log::epoch_log(std::filesystem::path path) : path_(std::move(path)) {
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

epoch_log::epoch_log(epoch_log&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

epoch_log& epoch_log::operator=(epoch_log other) noexcept {
  std::swap(path_, other.path_);
  std::swap(fd_, other.fd_);
  return *this;
}

epoch_log::~epoch_log() {
  if (fd_ >= 0) ::close(fd_);
}

void epoch_log::append(const epoch_record& r) { write_line(row(r) + "\n"); }

std::string epoch_log::row(const epoch_record& r) {
  char text[256];
  const int length = std::snprintf(text, sizeof text, "%d,%.6f,%.2f,%.6f,%.2f,%.6g,%.3f", r.epoch, r.train_loss,
                                   r.train_accuracy, r.val_loss, r.val_accuracy, r.learning_rate, r.seconds);
  if (length < 0 || static_cast<std::size_t>(length) >= sizeof text)
    throw std::length_error("epoch_log: a row does not fit in 256 characters");
  return std::string(text, static_cast<std::size_t>(length));
}

void epoch_log::restore(int epoch, const std::string& row_of_epoch) {
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

void epoch_log::fail(const std::string& problem) const { throw file_error(path_, problem); }

void epoch_log::fail_with_errno(const std::string& problem) const { fail(problem + ": " + std::strerror(errno)); }

// One write() per line: with O_APPEND a line is never interleaved or torn
// by another writer; fdatasync makes it survive a power cut too. A short
// write (a full disk) is cut off again.
void epoch_log::write_line(std::string_view line) {
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

}  // namespace typenet

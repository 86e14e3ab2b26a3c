#pragma once
// epoch_log: the trainer's per-epoch CSV, one row per epoch under the header
//   epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds
// with accuracies in percent. A new or empty file gets the header; an
// existing one (a resumed run) must already have it, and rows are appended.
// Each row goes to the disk as it is written, and a row that cannot be written
// whole is taken back, so a failed write leaves no partial row. A crash can
// still lose the row being written; restore() puts back the last one, as the
// run's checkpoint recorded it. Errors are file_error naming the log.
//
//   typenet::epoch_log log("runs/mnist/log.csv");
//   log.append({.epoch = 1, .train_loss = 0.3121, .train_accuracy = 90.52, .val_loss = 0.1404,
//               .val_accuracy = 95.87, .learning_rate = 0.01, .seconds = 12.5});
//   // appends "1,0.312100,90.52,0.140400,95.87,0.01,12.500"
#include <filesystem>
#include <string>
#include <string_view>

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

  explicit epoch_log(std::filesystem::path path);
  epoch_log(epoch_log&& other) noexcept;
  epoch_log& operator=(epoch_log other) noexcept;
  ~epoch_log();

  void append(const epoch_record& r);

  // The text of a record's row, without the newline.
  static std::string row(const epoch_record& r);

  // Makes the log end with the row of `epoch`, as `row_of_epoch` (from the run's
  // checkpoint) gives it: a last line cut short by a crash is dropped, and the
  // row is appended if the crash came before it. Rows beyond `epoch` belong to
  // another run and are refused.
  void restore(int epoch, const std::string& row_of_epoch);

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  [[noreturn]] void fail(const std::string& problem) const;
  [[noreturn]] void fail_with_errno(const std::string& problem) const;
  void write_line(std::string_view line);

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace typenet

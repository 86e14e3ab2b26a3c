#pragma once
// Progress of an epoch: a redrawn bar on a terminal, a plain line every quarter
// of the epoch otherwise (logs stay readable).
#include <cstddef>
#include <cstdio>
#include <unistd.h>

namespace typenet {

class progress_bar {
 public:
  explicit progress_bar(std::size_t total) : total_(total), terminal_(::isatty(STDOUT_FILENO) == 1) {}

  void update(std::size_t done, double loss, double accuracy) {
    if (terminal_) {
      const std::size_t width = 30, filled = done * width / total_;
      char bar[width + 1];
      for (std::size_t i = 0; i < width; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
      bar[width] = 0;
      std::printf("\r  [%s] %zu/%zu  loss %.4f  acc %.2f%%", bar, done, total_, loss, accuracy);
      std::fflush(stdout);
    } else if (done * 4 / total_ != last_quarter_ && done < total_) {
      last_quarter_ = done * 4 / total_;
      std::printf("  %zu/%zu batches  loss %.4f  acc %.2f%%\n", done, total_, loss, accuracy);
      std::fflush(stdout);
    }
  }
  void finish() {
    if (terminal_) std::printf("\r%*s\r", 80, "");
  }

 private:
  std::size_t total_;
  bool terminal_;
  std::size_t last_quarter_ = 0;
};

}  // namespace typenet

#pragma once
// A trainer's command line for a test: `base` with `more` added, an option that
// `base` already gives taking the value `more` gives it (the trainer refuses an
// option given twice).
#include <algorithm>
#include <string>
#include <vector>

namespace tests {

inline std::vector<std::string> with_options(std::vector<std::string> base, const std::vector<std::string>& more) {
  for (std::size_t i = 0; i < more.size(); ++i) {
    const auto given = std::ranges::find(base, more[i]);
    const bool has_value = i + 1 < more.size() && !more[i + 1].starts_with("--");
    if (given != base.end() && has_value) {
      *(given + 1) = more[++i];
    } else {
      base.push_back(more[i]);
      if (has_value) base.push_back(more[++i]);
    }
  }
  return base;
}

}  // namespace tests

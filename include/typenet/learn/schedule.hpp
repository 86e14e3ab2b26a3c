#pragma once
// Learning-rate schedules as functions of the step (PyTorch's lr_scheduler
// semantics, stepped every batch):
//
//   typenet::one_cycle s{.max_lr = 0.05, .total_steps = 20 * 469};
//   double lr = s.learning_rate(step);
//   std::optional<double> mu = s.momentum(step);   // one-cycle also cycles momentum
#include <cmath>
#include <cstddef>
#include <numbers>
#include <optional>

namespace typenet {

struct constant_schedule {
  double lr = 0.01;
  double learning_rate(std::size_t) const { return lr; }
  std::optional<double> momentum(std::size_t) const { return std::nullopt; }
};

// lr * gamma^(floor(step / step_size))   (StepLR)
struct step_schedule {
  double lr = 0.1;
  std::size_t step_size = 1000;
  double gamma = 0.1;
  double learning_rate(std::size_t step) const { return lr * std::pow(gamma, static_cast<double>(step / step_size)); }
  std::optional<double> momentum(std::size_t) const { return std::nullopt; }
};

// Cosine annealing from lr to min_lr over total_steps   (CosineAnnealingLR)
struct cosine_schedule {
  double lr = 0.1;
  std::size_t total_steps = 1000;
  double min_lr = 0;
  double learning_rate(std::size_t step) const {
    const double t = std::min(1.0, static_cast<double>(step) / static_cast<double>(total_steps));
    return min_lr + (lr - min_lr) * (1 + std::cos(std::numbers::pi * t)) / 2;
  }
  std::optional<double> momentum(std::size_t) const { return std::nullopt; }
};

// OneCycleLR with its defaults: cosine warm-up from max_lr / div_factor to max_lr
// over pct_start of the steps, then cosine down to max_lr / div_factor /
// final_div_factor; momentum cycles the other way between max and base.
struct one_cycle {
  double max_lr = 0.05;
  std::size_t total_steps = 1000;
  double pct_start = 0.3, div_factor = 25, final_div_factor = 1e4;
  double base_momentum = 0.85, max_momentum = 0.95;
  bool cycle_momentum = true;

  double learning_rate(std::size_t step) const {
    const double initial = max_lr / div_factor, last = initial / final_div_factor;
    return phase(step, initial, max_lr, max_lr, last);
  }
  std::optional<double> momentum(std::size_t step) const {
    if (!cycle_momentum) return std::nullopt;
    return phase(step, max_momentum, base_momentum, base_momentum, max_momentum);
  }

 private:
  static double anneal(double from, double to, double pct) { return to + (from - to) / 2 * (std::cos(std::numbers::pi * pct) + 1); }
  double phase(std::size_t step, double a0, double a1, double b0, double b1) const {
    const double up_end = pct_start * static_cast<double>(total_steps) - 1, down_end = static_cast<double>(total_steps) - 1;
    const double s = static_cast<double>(step);
    if (s <= up_end) return anneal(a0, a1, s / up_end);
    return anneal(b0, b1, std::min(1.0, (s - up_end) / (down_end - up_end)));
  }
};

}  // namespace typenet

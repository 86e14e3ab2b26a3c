#pragma once
// Optimizers over the flat parameter and gradient vectors, with PyTorch's
// semantics (torch.optim.SGD, Adam, AdamW):
//
//   typenet::sgd opt{.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4};
//   opt.step(model.parameters(), model.gradients(), lr);
//
// Each keeps its state (velocity, moments, step count) in one flat vector of
// doubles, state(), so a checkpoint restores it exactly.
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace typenet {

// v = mu v + (g + wd p);  p -= lr (nesterov ? g + wd p + mu v : v)
struct sgd {
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0;
  std::vector<double> state;  // velocity

  static constexpr std::size_t state_size(std::size_t parameters) { return parameters; }

  template <class T>
  void step(std::span<T> params, std::span<const T> grads, double lr) {
    if (state.size() != state_size(params.size())) state.assign(state_size(params.size()), 0.0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const double g = grads[i] + weight_decay * params[i];
      double& v = state[i];
      v = momentum * v + g;
      params[i] -= static_cast<T>(lr * (nesterov ? g + momentum * v : v));
    }
  }
};

// Adam (Decoupled = false: weight decay added to the gradient) and AdamW
// (Decoupled = true: p -= lr wd p), with bias-corrected moments.
template <bool Decoupled>
struct adam_optimizer {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weight_decay = Decoupled ? 0.01 : 0.0;
  std::vector<double> state;  // first moments, second moments, then the step count

  static constexpr std::size_t state_size(std::size_t parameters) { return 2 * parameters + 1; }

  template <class T>
  void step(std::span<T> params, std::span<const T> grads, double lr) {
    const std::size_t n = params.size();
    if (state.size() != state_size(n)) state.assign(state_size(n), 0.0);
    const double t = state[2 * n] += 1;
    const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);
    for (std::size_t i = 0; i < n; ++i) {
      double g = grads[i];
      double p = params[i];
      if constexpr (Decoupled) p -= lr * weight_decay * p;
      else g += weight_decay * p;
      double& m = state[i];
      double& v = state[n + i];
      m = beta1 * m + (1 - beta1) * g;
      v = beta2 * v + (1 - beta2) * g * g;
      params[i] = static_cast<T>(p - lr * (m / c1) / (std::sqrt(v / c2) + epsilon));
    }
  }
};

using adam = adam_optimizer<false>;
using adamw = adam_optimizer<true>;

}  // namespace typenet

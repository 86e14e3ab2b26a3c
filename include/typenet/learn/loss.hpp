#pragma once
// Losses, each a pair (value per sample, gradient with respect to the network's
// output). A loss reads `target_size` scalars of target per sample: a class index
// for the classification losses, a vector for the regression ones.
//
//   model.train_forward_backward<typenet::nll_loss>(images, labels, count, key);
//
//   l2_loss        E = 1/2 sum (t - a)^2             (the course's error)
//   mse_loss       E = 1/N sum (t - a)^2             (PyTorch MSELoss)
//   nll_loss       E = -a[label], a log-probabilities (PyTorch NLLLoss, after log_softmax)
//   cross_entropy  E = logsumexp(a) - a[label], a raw scores: softmax and its loss fused
//                  into one stable gradient softmax(a) - onehot (PyTorch CrossEntropyLoss)
#include <cmath>
#include <cstddef>

#include "typenet/core/pack.hpp"

namespace typenet {

// Each loss: value(out, target, grad, scale) returns the per-lane loss and writes
// grad = scale * dE/d(out).

namespace detail {
// E = k(N) sum (a - t)^2, dE/da = 2 k(N) (a - t), for N outputs.
template <class Weight>
struct squared_error {
  template <std::size_t Outputs> static constexpr std::size_t target_size = Outputs;
  template <std::size_t N, class V, class T>
  static V value(const V* out, const V* target, V* grad, T scale) {
    constexpr T k = static_cast<T>(Weight::template of<N>);
    V e{};
    for (std::size_t i = 0; i < N; ++i) {
      const V d = out[i] - target[i];
      e += d * d * k;
      grad[i] = d * (2 * k * scale);
    }
    return e;
  }
};
struct half { template <std::size_t N> static constexpr double of = 0.5; };
struct mean { template <std::size_t N> static constexpr double of = 1.0 / N; };
}  // namespace detail

struct l2_loss : detail::squared_error<detail::half> {};
struct mse_loss : detail::squared_error<detail::mean> {};

struct nll_loss {
  template <std::size_t Outputs> static constexpr std::size_t target_size = 1;
  template <std::size_t N, class V, class T>
  static V value(const V* out, const V* label, V* grad, T scale) {
    V e{};
    for (std::size_t i = 0; i < N; ++i) {
      const auto hit = *label == static_cast<T>(i);
      e -= hit ? out[i] : V{};
      grad[i] = hit ? V{} - scale : V{};
    }
    return e;
  }
};

struct cross_entropy {
  template <std::size_t Outputs> static constexpr std::size_t target_size = 1;
  template <std::size_t N, class V, class T>
  static V value(const V* out, const V* label, V* grad, T scale) {
    V top = out[0];
    for (std::size_t i = 1; i < N; ++i) top = out[i] > top ? out[i] : top;
    V total{}, picked{};
    for (std::size_t i = 0; i < N; ++i) {
      grad[i] = map_lanes(out[i] - top, [](auto v) { return std::exp(v); });
      total += grad[i];
      picked += *label == static_cast<T>(i) ? out[i] : V{};
    }
    for (std::size_t i = 0; i < N; ++i)
      grad[i] = (grad[i] / total - (*label == static_cast<T>(i) ? V{} + 1 : V{})) * scale;
    return map_lanes(total, [](auto v) { return std::log(v); }) + top - picked;
  }
};

}  // namespace typenet

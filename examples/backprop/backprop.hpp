#pragma once
// The course's backpropagation worked by hand, computed by typenet: a 2-2-2
// sigmoid network without biases, L2 loss, given weights. Shared by the example
// program (which prints it like the course's spreadsheet) and its test.
#include <array>
#include <cmath>
#include <typenet/learn/loss.hpp>
#include <typenet/engine/model.hpp>
#include <typenet/typenet.hpp>
#include <vector>

namespace backprop {

using net = typenet::network<typenet::input<2>, typenet::dense<2>, typenet::sigmoid, typenet::dense<2>, typenet::sigmoid>;
// Every layer's output stays readable (the sigmoids would otherwise overwrite h and o).
using model = typenet::model<net, double, typenet::activation_memory::kept>;

// The course's starting point.
inline constexpr std::array<double, 2> targets{0.01, 0.99};  // T1, T2
inline constexpr std::array<double, 2> inputs{0.05, 0.1};    // I1, I2
// W1..W8 in the flat parameter vector's order: dense weights are [output][input],
// so h1 = W1 I1 + W2 I2, h2 = W3 I1 + W4 I2, o1 = W5 a_h1 + W6 a_h2, o2 = W7 a_h1 + W8 a_h2.
inline constexpr std::array<double, 8> initial_weights{0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55};

struct worked_values {
  double h1, h2, a_h1, a_h2, o1, o2, a_o1, a_o2, e1, e2, e_total;
  std::array<double, 8> gradient;     // dE_total/dW1..W8 from the library
  std::array<double, 8> closed_form;  // the same from the course's equations
};

inline model with_weights(const std::array<double, 8>& w) {
  model m(1);
  std::copy(w.begin(), w.end(), m.parameters().begin());
  return m;
}

// E_total = 1/2 (T1 - a_o1)^2 + 1/2 (T2 - a_o2)^2 and its gradient, for one sample.
inline double forward_backward(model& m) {
  return m.train_forward_backward<typenet::l2_loss>(inputs, targets, 1, 0);
}

inline worked_values work(const std::array<double, 8>& w = initial_weights) {
  model m = with_weights(w);
  worked_values v{};
  v.e_total = forward_backward(m);
  const auto h = m.activation_of<1>(0), a_h = m.activation_of<2>(0), o = m.activation_of<3>(0), a_o = m.activation_of<4>(0);
  v.h1 = h[0], v.h2 = h[1], v.a_h1 = a_h[0], v.a_h2 = a_h[1], v.o1 = o[0], v.o2 = o[1], v.a_o1 = a_o[0], v.a_o2 = a_o[1];
  v.e1 = 0.5 * (targets[0] - v.a_o1) * (targets[0] - v.a_o1);
  v.e2 = 0.5 * (targets[1] - v.a_o2) * (targets[1] - v.a_o2);
  std::copy(m.gradients().begin(), m.gradients().end(), v.gradient.begin());

  // The course's equations: dE/dW5 = (a_o1 - T1) a_o1 (1 - a_o1) a_h1, and so on;
  // dE/dW1 = ((a_o1 - T1) a_o1 (1 - a_o1) W5 + (a_o2 - T2) a_o2 (1 - a_o2) W7) a_h1 (1 - a_h1) I1.
  const double d_o1 = (v.a_o1 - targets[0]) * v.a_o1 * (1 - v.a_o1);
  const double d_o2 = (v.a_o2 - targets[1]) * v.a_o2 * (1 - v.a_o2);
  const double d_h1 = (d_o1 * w[4] + d_o2 * w[6]) * v.a_h1 * (1 - v.a_h1);
  const double d_h2 = (d_o1 * w[5] + d_o2 * w[7]) * v.a_h2 * (1 - v.a_h2);
  v.closed_form = {d_h1 * inputs[0], d_h1 * inputs[1], d_h2 * inputs[0], d_h2 * inputs[1],
                   d_o1 * v.a_h1,    d_o1 * v.a_h2,    d_o2 * v.a_h1,    d_o2 * v.a_h2};
  return v;
}

// E_total before each of `steps` updates W <- W - lr dE/dW, and after the last.
inline std::vector<double> error_curve(double lr, std::size_t steps) {
  model m = with_weights(initial_weights);
  std::vector<double> curve;
  for (std::size_t i = 0; i <= steps; ++i) {
    curve.push_back(forward_backward(m));
    for (std::size_t p = 0; p < net::parameter_count; ++p) m.parameters()[p] -= lr * m.gradients()[p];
  }
  return curve;
}

inline constexpr std::array<double, 6> learning_rates{0.1, 0.2, 0.5, 0.8, 1.0, 2.0};

}  // namespace backprop

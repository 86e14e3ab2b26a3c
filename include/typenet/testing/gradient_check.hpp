#pragma once
// check_gradients<Net, Loss>(count): a central-difference gradient check of a
// whole network in double: every parameter's analytic gradient against
// (E(p+h) - E(p-h)) / 2h, on random inputs and targets.
//
//   auto r = typenet::testing::check_gradients<net, typenet::nll_loss>(11);
//   assert(r.checked == net::parameter_count && r.max_relative_error < 1e-6);
#include <algorithm>
#include <cmath>
#include <cstdint>
#include "typenet/learn/loss.hpp"
#include "typenet/engine/model.hpp"
#include "typenet/core/random.hpp"
#include <vector>

namespace typenet::testing {

struct gradient_report {
  double max_relative_error = 0;
  double largest_gradient = 0;
  std::size_t checked = 0;
};

// Relative error with a floor, so that gradients that are zero up to rounding do
// not divide by nothing.
inline double relative_error(double a, double b) { return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-4}); }

template <class Net, class Loss, std::size_t Lanes = default_lanes<double>>
gradient_report check_gradients(std::size_t count, std::uint64_t seed = 7) {
  model<Net, double, activation_memory::reused, Lanes> m(count);
  m.initialize(seed);
  random_sequence rng(seed * 31 + 1);
  // Batch-norm parameters away from their initial 1 and 0, so that their gradients are exercised.
  for (double& p : m.parameters()) p += rng.uniform(-0.2, 0.2);
  std::vector<double> inputs(count * Net::input_size);
  for (double& x : inputs) x = rng.uniform(-1, 1);
  constexpr std::size_t target_size = Loss::template target_size<Net::output_size>;
  std::vector<double> targets(count * target_size);
  for (double& t : targets) t = target_size == 1 ? static_cast<double>(rng.below(Net::output_size)) : rng.uniform(0, 1);

  const std::uint64_t key = 12345;
  const auto loss = [&] { return m.template train_forward_backward<Loss>(inputs, targets, count, key) / count; };
  loss();
  const std::vector<double> analytic(m.gradients().begin(), m.gradients().end());

  gradient_report r;
  const double h = 1e-5;
  for (std::size_t p = 0; p < Net::parameter_count; ++p) {
    const double saved = m.parameters()[p];
    m.parameters()[p] = saved + h;
    const double up = loss();
    m.parameters()[p] = saved - h;
    const double down = loss();
    m.parameters()[p] = saved;
    const double numeric = (up - down) / (2 * h);
    r.max_relative_error = std::max(r.max_relative_error, relative_error(analytic[p], numeric));
    r.largest_gradient = std::max(r.largest_gradient, std::abs(analytic[p]));
    ++r.checked;
  }
  return r;
}

}  // namespace typenet::testing

#pragma once
// Opt-in architecture rules from the course, checked at compile time:
//
//   using net = typenet::checked<typenet::network<...>,
//       typenet::rules::max_parameters<20'000>,
//       typenet::rules::receptive_field_covers_input,
//       typenet::rules::no_max_pool_near_output<2>,
//       typenet::rules::no_batch_norm_before_output>;
//
// A broken rule fails compilation with an error whose first line names the rule,
// the layer index, the layer and the numbers (diagnostics.hpp). A rule is a type
// with `template <class Net> using problem = ...`: writing a new one is one struct.
#include <cstddef>
#include <utility>

#include "typenet/net/diagnostics.hpp"
#include "typenet/net/network.hpp"

namespace typenet {

namespace rules {

// parameter_count < Max (the course's "fewer than 20,000 parameters").
template <std::size_t Max>
struct max_parameters {
  template <class Net>
  using problem = problem_if<(Net::parameter_count >= Max), parameter_count_over_budget,
                             parameter_count_is<Net::parameter_count>, budget<Max>>;
};

// The prediction layer sees the whole input: the receptive field at its input is
// at least the input's height and width.
struct receptive_field_covers_input {
  template <class Net>
  struct check {
    static constexpr std::size_t p = Net::prediction_layer;
    static constexpr std::size_t field = p == 0 ? 1 : Net::facts[p - 1].receptive_field;
    static constexpr std::size_t needed =
        Net::input_shape::height > Net::input_shape::width ? Net::input_shape::height : Net::input_shape::width;
    using type = problem_if<(field < needed), receptive_field_does_not_cover_input, at_layer<p>,
                            typename Net::template layer_spec<p>, receptive_field_is<field>, at_least<needed>>;
  };
  template <class Net> using problem = typename check<Net>::type;
};

// No max-pool among the last Distance layers (it throws away what the output needs).
template <std::size_t Distance>
struct no_max_pool_near_output {
  template <class Net>
  struct check {
    static constexpr std::size_t found = [] {
      for (std::size_t i = Net::depth; i-- > 0;)
        if (Net::depth - i <= Distance && Net::facts[i].role == layer_role::max_pooling) return i;
      return Net::depth;
    }();
    static constexpr std::size_t at = found < Net::depth ? found : 0;
    using type = problem_if<(found < Net::depth), max_pool_too_close_to_output, at_layer<at>,
                            typename Net::template layer_spec<at>, layers_from_output<Net::depth - at>,
                            at_least<Distance + 1>>;
  };
  template <class Net> using problem = typename check<Net>::type;
};

// No batch norm right before the prediction layer, nor after it.
struct no_batch_norm_before_output {
  template <class Net>
  struct check {
    static constexpr std::size_t found = [] {
      for (std::size_t i = Net::prediction_layer == 0 ? 0 : Net::prediction_layer - 1; i < Net::depth; ++i)
        if (Net::facts[i].role == layer_role::normalization) return i;
      return Net::depth;
    }();
    static constexpr std::size_t at = found < Net::depth ? found : 0;
    using type = problem_if<(found < Net::depth), batch_norm_directly_before_output, at_layer<at>,
                            typename Net::template layer_spec<at>, layers_from_output<Net::depth - at>>;
  };
  template <class Net> using problem = typename check<Net>::type;
};

}  // namespace rules

// Net itself, once every rule holds.
template <class Net, class... Rules>
struct checked_network : Net {
  static_assert((reported<typename Rules::template problem<Net>> && ...));
};

template <class Net, class... Rules>
using checked = checked_network<Net, Rules...>;

}  // namespace typenet

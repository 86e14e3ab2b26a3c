#pragma once
// network<input<C, H, W>, Layers...>: a neural network as a type. Each layer is
// bound to the shape that reaches it, and every fact about the network is a
// compile-time constant, so a budget is a static_assert:
//
//   using net = typenet::network<typenet::input<1, 28, 28>,
//       typenet::conv<16, 3>, typenet::batch_norm, typenet::relu, typenet::max_pool<2>,
//       typenet::conv<10, 1>, typenet::global_avg_pool, typenet::log_softmax>;
//   static_assert(net::parameter_count < 20'000);
//   static_assert(net::output_size == 10);
//
// A layer that does not fit the shape that reaches it fails to compile with an
// error naming the layer's index, its type and the numbers (diagnostics.hpp).
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "typenet/net/diagnostics.hpp"
#include "typenet/net/layer.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

// What the network knows of one of its layers; net::facts[i] for layer i.
struct layer_facts {
  std::string_view name;
  layer_role role;
  dynamic_shape output_shape;
  std::size_t output_size;                  // activation scalars per sample
  std::size_t parameter_count, parameter_offset;
  std::size_t buffer_count, buffer_offset;
  std::size_t kernel, stride;
  std::size_t padding;                      // zeros around each side of the input (conv)
  std::size_t receptive_field, jump;        // after this layer, in input pixels
  std::size_t multiply_adds;                // per sample, forward
  bool overwrites_input;                    // its output takes its input's memory (see layer.hpp)
  bool feeds_chain;                         // pointwise, and the next layer continues its chain:
                                            // its output is never stored (see layer.hpp)
};

// Where a tensor of the state_dict lives.
enum class tensor_store { parameters, buffers, batches_tracked };

// One tensor of the network's PyTorch state_dict, net::tensors[k] in state_dict order:
// layer `layer`'s parameter or buffer `info` at `offset` in the flat parameters or
// buffers, or (batches_tracked) the count of training batches of a layer that trains
// on its batch's statistics, PyTorch's "<layer>.num_batches_tracked".
struct tensor_facts {
  std::size_t layer;
  tensor_info info;
  tensor_store store;
  std::size_t offset;
};

namespace detail {
// Layer I of a pack in one step: the pack's holder derives from indexed<I, L> for
// every layer, and deduction picks the base. (A fold that appends to a tuple, or
// a recursive lookup, costs a network of N layers N^2 instantiations.)
template <std::size_t I, class L> struct indexed { using type = L; };
template <class Indices, class... Ls> struct indexed_pack;
template <std::size_t... I, class... Ls>
struct indexed_pack<std::index_sequence<I...>, Ls...> : indexed<I, Ls>... {};
template <std::size_t I, class L> indexed<I, L> select(const indexed<I, L>&);  // for decltype only
template <std::size_t I, class Pack> using pack_element = typename decltype(select<I>(std::declval<Pack>()))::type;

// Layer I bound to the shape that reaches it: the output of layer I - 1 bound, so
// each layer is bound once and the network's binding is linear in its depth.
template <class Specs, class Input, std::size_t I> struct bound_at;
template <class Specs, class Input, std::size_t I> struct input_at {
  using type = typename bound_at<Specs, Input, I - 1>::type::output_shape;
};
template <class Specs, class Input> struct input_at<Specs, Input, 0> { using type = Input; };
template <class Specs, class Input, std::size_t I> struct bound_at {
  using type = typename pack_element<I, Specs>::template bind<typename input_at<Specs, Input, I>::type>;
};
}  // namespace detail

template <class Input, class... Layers>
struct network {
  static_assert(sizeof...(Layers) > 0, "typenet: a network needs at least one layer after its input");
  static constexpr std::size_t depth = sizeof...(Layers);

 private:
  using specs_ = detail::indexed_pack<std::make_index_sequence<depth>, Layers...>;

 public:
  using input_shape = Input;

  // Layer I as written (`conv<16, 3>`) and as bound to its input (with facts and kernels).
  template <std::size_t I> using layer_spec = detail::pack_element<I, specs_>;
  template <std::size_t I> using layer = typename detail::bound_at<specs_, Input, I>::type;

  using output_shape = typename layer<depth - 1>::output_shape;

 private:
  template <std::size_t... I>
  static constexpr bool well_formed(std::index_sequence<I...>) {
    static_assert((layer_definition<layer_spec<I>> && ...), "typenet: a layer type needs a name and a role (layer.hpp)");
    static_assert((bound_layer<layer<I>> && ...), "typenet: a bound layer breaks the layer contract (layer.hpp)");
    return (reported<typename layer<I>::problem, at_layer<I>, layer_spec<I>> && ...);
  }
  static_assert(well_formed(std::make_index_sequence<depth>{}));

  template <std::size_t I>
  static constexpr bool feeds_chain = [] {
    if constexpr (I + 1 < depth) return pointwise_layer<layer<I>> && pointwise_gradient_layer<layer<I + 1>>;
    else return false;
  }();

  template <std::size_t... I>
  static constexpr std::array<layer_facts, depth> collect(std::index_sequence<I...>) {
    std::array<layer_facts, depth> f{layer_facts{
        layer_spec<I>::name, layer_spec<I>::role,
        layer<I>::output_shape::value,
        layer<I>::output_shape::size,
        layer<I>::parameter_count, 0, layer<I>::buffer_count, 0,
        layer<I>::kernel, layer<I>::stride, layer<I>::padding, 0, 0,
        layer<I>::multiply_adds,
        layer<I>::in_place && (I == 0 || !layer<I - (I > 0)>::backward_reads_output),
        feeds_chain<I>}...};
    // A chain's backward recomputes its values from the chain's input, so the last
    // layer of a chain must not write over it.
    for (std::size_t i = 1; i < f.size(); ++i)
      if (f[i - 1].feeds_chain && !f[i].feeds_chain) f[i].overwrites_input = false;
    std::size_t parameters = 0, buffers = 0, field = 1, jump = 1;
    for (auto& l : f) {
      l.parameter_offset = parameters, parameters += l.parameter_count;
      l.buffer_offset = buffers, buffers += l.buffer_count;
      field += (l.kernel - 1) * jump, jump *= l.stride;
      l.receptive_field = field, l.jump = jump;
    }
    return f;
  }

  template <std::size_t... I>
  static constexpr auto collect_tensors(std::index_sequence<I...>) {
    constexpr std::size_t count =
        ((layer<I>::parameter_tensors.size() + layer<I>::buffer_tensors.size() + batch_statistics_layer<layer<I>>) + ...);
    std::array<tensor_facts, count> t{};
    std::size_t k = 0;
    const auto add = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
      std::size_t at = facts[J].parameter_offset;
      for (const tensor_info& p : layer<J>::parameter_tensors) t[k++] = {J, p, tensor_store::parameters, at}, at += p.size();
      at = facts[J].buffer_offset;
      for (const tensor_info& b : layer<J>::buffer_tensors) t[k++] = {J, b, tensor_store::buffers, at}, at += b.size();
      if (batch_statistics_layer<layer<J>>)
        t[k++] = {J, {"num_batches_tracked", 0, {}}, tensor_store::batches_tracked, J};
    };
    (add(std::integral_constant<std::size_t, I>{}), ...);
    return t;
  }

  template <class F>
  static constexpr std::size_t total(F f) {
    std::size_t n = 0;
    for (const auto& l : facts) n += f(l);
    return n;
  }

 public:
  static constexpr std::array<layer_facts, depth> facts = collect(std::make_index_sequence<depth>{});

  static constexpr std::size_t parameter_count = total([](const layer_facts& l) { return l.parameter_count; });
  static constexpr std::size_t buffer_count = total([](const layer_facts& l) { return l.buffer_count; });
  static constexpr std::size_t multiply_adds = total([](const layer_facts& l) { return l.multiply_adds; });
  // Activation scalars kept per sample for backward, input included (a layer that
  // overwrites its input costs nothing).
  static constexpr std::size_t activation_size =
      Input::size + total([](const layer_facts& l) { return l.overwrites_input || l.feeds_chain ? 0 : l.output_size; });
  static constexpr std::size_t receptive_field = facts[depth - 1].receptive_field;
  static constexpr std::size_t jump = facts[depth - 1].jump;
  static constexpr std::size_t input_size = Input::size;
  static constexpr std::size_t output_size = output_shape::size;

  static constexpr auto tensors = collect_tensors(std::make_index_sequence<depth>{});

  template <std::size_t I> static constexpr std::size_t parameter_offset = facts[I].parameter_offset;
  template <std::size_t I> static constexpr std::size_t buffer_offset = facts[I].buffer_offset;

  // The layer that makes the prediction: the last one with weights (conv or dense).
  static constexpr std::size_t prediction_layer = [] {
    std::size_t p = 0;
    for (std::size_t i = 0; i < depth; ++i)
      if (facts[i].role == layer_role::linear) p = i;
    return p;
  }();
};

// A network's facts as one value, views of its type's constants: what code compiled
// once for every network reads (the summary, the run library's description, checkpoints).
struct network_facts {
  dynamic_shape input;
  std::span<const layer_facts> layers;
  std::span<const tensor_facts> tensors;
  std::size_t parameter_count, buffer_count, multiply_adds, activation_size, receptive_field, output_size;
};

template <class Net>
inline constexpr network_facts facts_of{Net::input_shape::value, Net::facts,           Net::tensors,
                                        Net::parameter_count,    Net::buffer_count,    Net::multiply_adds,
                                        Net::activation_size,    Net::receptive_field, Net::output_size};

}  // namespace typenet

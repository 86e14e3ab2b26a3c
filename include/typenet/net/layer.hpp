#pragma once
// The layer contract. A layer is a type that carries hyperparameters only
// (`conv<16, 3>`): its `name`, its `role`, and a `bind<Shape>` that the network
// instantiates with the shape that reaches it. The bound type carries the facts
// and the kernels; the concept `bound_layer` below states what it must provide,
// one requirement a line, and the network asserts it for every layer it binds.
// To add a layer of your own, write one header (this one is compiled and
// gradient-checked in tests/test_layers.cpp, with typenet::testing::check_layer):
//
//   struct square {                                   // y = x * x
//     static constexpr std::string_view name = "square";
//     static constexpr typenet::layer_role role = typenet::layer_role::activation;
//     template <class In> struct bind : typenet::layer_defaults<In> {
//       using output_shape = In;
//       template <class A> static void forward(const A& a) {
//         for (std::size_t i = 0; i < In::size; ++i) a.out[i] = a.in[i] * a.in[i];
//       }
//       template <class A> static void backward(const A& a) {
//         if (a.d_in)
//           for (std::size_t i = 0; i < In::size; ++i) a.d_in[i] = 2 * a.in[i] * a.d_out[i];
//       }
//     };
//   };
//
// Kernels see one block of `lanes` samples (block_args): every activation is a
// pack (pack.hpp), laid out [channel][row][column]. backward() adds the block's
// parameter gradients into `grads` and writes `d_in` unless it is null (the first
// layer has no input gradient to give).
//
// Optional abilities are found from what a layer defines:
//   forward_at(block_args, channel)    pointwise: instead of forward, out[i] = f(i, in[i]) for
//                                      element i of the channel, f = forward_at(a, channel) (so
//                                      that per-channel constants are computed once); f and g
//                                      below take any pack: in a block of one sample, x may
//                                      hold the consecutive elements i, i + 1, ... of the channel
//   backward_at(block_args, channel)   pointwise gradient, for a parameter-free layer: instead of
//                                      backward, d_in[i] = g(i, out[i], d_out[i])
//                                      The engine runs a pointwise layer followed by pointwise-
//                                      gradient ones as one pass (a chain): in forward, values
//                                      between them stay in registers; in backward, they are
//                                      recomputed from the chain's input.
//   forward_batch(batch_args)          statistics over the whole batch in training (batch norm),
//                                      with forward_block_sums(block_args), backward_block_sums
//                                      and backward_batch: per block the engine calls
//                                      forward_block_sums (in the task that has just computed the
//                                      block's `in`; it leaves its sums in the block's scratch),
//                                      then forward_batch once (which adds them up), then forward
//                                      per block; backward likewise. They share what they need
//                                      through `state`. Such a layer declares block_sums_size, the
//                                      scalars its block sums take at the start of the scratch
//                                      (what processes sharing a batch exchange, block_exchange.hpp).
//   input_gradient_at(block_args, i)   a weightless layer's input gradient of element i alone (what
//                                      backward writes there): a chain below it computes it as it
//                                      reads it, instead of reading a map backward wrote
//   forward_keeping_winners(block_args, winners, ch, value)
//                                      a max-pool of channel ch of a map the chain below computes
//                                      (value(i)) and never stores: in the map's place, `winners`
//                                      keeps which tap won each window, and the chain's backward
//                                      reads input_gradient_from_winners(block_args, i) from them
//   backward_sums_at(block_args, ch)   a batch layer's backward block sums of channel ch taken one
//                                      element at a time (s.add(x, dy), then s.store()): where
//                                      pointwise layers follow it, their backward pass, which
//                                      computes its dy, takes them instead of a pass of its own
// What only the layer knows is declared (layer_defaults gives the common answer):
//   in_place                           it may write its output over its input: out[i] needs only
//                                      in[i], and backward never reads `in`
//   backward_reads_output              backward reads `out` (so no later layer may overwrite it)
//   gradient_in_place                  backward may write d_in over d_out (d_in[i] needs d_out[i]
//                                      only): the engine then passes the same buffer
//   forward(block_args, epilogue)      besides forward(block_args): stores each output through an
//                                      epilogue (kernels/epilogue.hpp), so that in evaluation the
//                                      chain of pointwise layers after it runs in the same pass
//   one_sample_scratch_size            packs of scratch a block of one sample needs, where that is
//                                      more than scratch_size (its kernels vectorise over pixels)
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <concepts>
#include <span>
#include <string_view>

#include "typenet/net/diagnostics.hpp"
#include "typenet/core/pack.hpp"
#include "typenet/core/random.hpp"
#include "typenet/kernels/epilogue.hpp"

namespace typenet {

enum class mode { train, eval };
enum class bias { off, on };

// What a layer does, for the rules and the engine to ask (never its name).
enum class layer_role {
  linear,          // weights that mix inputs: conv, dense (the prediction is made by the last one)
  normalization,   // batch_norm
  activation,      // relu, sigmoid, tanh
  regularization,  // dropout: the identity in evaluation
  max_pooling,
  average_pooling,
  reshape,         // flatten: the same numbers under another shape
  output           // softmax, log_softmax
};

// Name and shape of one stored tensor (rank <= 4), for checkpoints and summaries.
struct tensor_info {
  std::string_view name;
  std::size_t rank;
  std::array<std::size_t, 4> dims;
  constexpr std::size_t size() const {
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
};

template <class In>
struct layer_defaults {
  using input_shape = In;
  using problem = no_problem;
  static constexpr std::size_t parameter_count = 0;
  static constexpr std::size_t buffer_count = 0;
  static constexpr std::size_t kernel = 1;
  static constexpr std::size_t stride = 1;
  static constexpr std::size_t padding = 0;
  static constexpr std::size_t multiply_adds = 0;
  static constexpr std::size_t scratch_size = 0;
  static constexpr std::size_t state_size = 0;
  static constexpr bool in_place = false;
  static constexpr bool backward_reads_output = true;
  static constexpr bool gradient_in_place = false;
  static constexpr std::array<tensor_info, 0> parameter_tensors{};
  static constexpr std::array<tensor_info, 0> buffer_tensors{};
  template <class T>
  static void initialize(std::span<T>, std::span<T>, random_sequence&) {}
};

// What a kernel sees of one block of samples.
template <class V, class T>
struct block_args {
  const T* params;      // this layer's slice of the flat parameter vector
  T* grads;             // this block's gradient slice (backward adds into it)
  T* buffers;           // this layer's non-trainable state
  const V* in;          // the layer's input, [channel][row][column]
  V* out;               // its output (written by forward; read by backward)
  const V* d_out;       // gradient of the loss with respect to out
  V* d_in;              // gradient with respect to in; null when nobody needs it
  V* scratch;           // scratch_size packs, private to this block and call
  T* state;             // the layer's state_size scalars (read-only here)
  V valid;              // 1 in lanes that hold a sample, 0 in padding lanes
  mode run_mode;
  bool split_channels;  // fewer blocks than threads: a kernel may split its own work
  std::uint64_t key;    // counter-based random key of this layer and step
  std::uint64_t first_sample;  // index in the batch of lane 0
};

// What a batch-wide kernel sees: the blocks of the whole batch. When processes
// share the batch (block_exchange.hpp), `in` to `valid` hold this process's blocks
// only, and `scratch` every block's sums, the other processes' gathered into it.
template <class V, class T>
struct batch_args {
  const T* params;
  T* grads;             // gradient slice of block 0 (the engine sums blocks in order)
  T* buffers;
  T* state;             // state_size scalars kept from forward to backward
  const V* in;          // block b at in + b * input_shape::size
  V* out;
  const V* d_out;       // block b's at d_out + b * gradient_stride
  V* d_in;              // null when nobody needs it; block b's at d_in + b * gradient_stride
  std::size_t gradient_stride;
  V* scratch;           // block b's scratch at scratch + b * scratch_stride, every block of the batch
  std::size_t scratch_stride;
  const V* valid;       // valid[b]: lane mask of block b
  std::size_t blocks;   // of the whole batch
  std::size_t samples;  // valid lanes in all
  mode run_mode;
};

namespace detail {
// The arguments a concept calls kernels with: the engine's float blocks.
using probe_block = block_args<pack<float, default_lanes<float>>, float>;
using probe_batch = batch_args<pack<float, default_lanes<float>>, float>;
}  // namespace detail

// A layer that prepares its state from its parameters once per pass, before the
// blocks run (conv: its weights as its kernels take them).
template <class L>
concept preparing_layer = requires(std::span<const float> params, std::span<float> state) { L::prepare(params, state); };
template <class L>
concept pointwise_layer = requires(const detail::probe_block& a) { L::forward_at(a, std::size_t{}); };
// A pointwise layer that also evaluates a register of one pixel's channels (lane l:
// channel first + l), for the kernels that hold channels in lanes (kernels/epilogue.hpp).
template <class L>
concept over_channels_layer = requires(const detail::probe_block& a) {
  L::template evaluate_over_channels<pack<float, default_lanes<float>>>(a, std::size_t{});
};
template <class L>
concept pointwise_gradient_layer = requires(const detail::probe_block& a) { L::backward_at(a, std::size_t{}); };
// Packs of scratch layer L needs per block of `Lanes` samples.
template <class L, std::size_t Lanes>
constexpr std::size_t scratch_packs() {
  if constexpr (Lanes == 1 && requires { L::one_sample_scratch_size; })
    return std::max<std::size_t>(L::scratch_size, L::one_sample_scratch_size);
  else
    return L::scratch_size;
}

template <class L>
concept epilogue_layer = requires(const detail::probe_block& a) { L::forward(a, no_epilogue{}); };
template <class L>
concept batch_statistics_layer = requires(const detail::probe_batch& a) { L::forward_batch(a); };

// A layer as written: what the network binds.
template <class L>
concept layer_definition = requires {
  { L::name } -> std::convertible_to<std::string_view>;
  { L::role } -> std::convertible_to<layer_role>;
};

// A layer bound to its input shape (the contract above).
template <class L>
concept bound_layer =
    requires(std::span<float> values, random_sequence& rng) {
      typename L::input_shape;                                    // shapes of one sample
      typename L::output_shape;
      typename L::problem;                                        // no_problem, or why it does not fit
      { L::parameter_count } -> std::convertible_to<std::size_t>; // trainable scalars
      { L::buffer_count } -> std::convertible_to<std::size_t>;    // non-trainable state (running stats)
      { L::kernel } -> std::convertible_to<std::size_t>;          // its step of the receptive field
      { L::stride } -> std::convertible_to<std::size_t>;
      { L::padding } -> std::convertible_to<std::size_t>;         // zeros around each side of the input
      { L::multiply_adds } -> std::convertible_to<std::size_t>;   // per sample, forward
      { L::scratch_size } -> std::convertible_to<std::size_t>;    // packs of per-block scratch in a call
      { L::state_size } -> std::convertible_to<std::size_t>;      // scalars kept from forward to backward, or prepared
      { L::in_place } -> std::convertible_to<bool>;
      { L::backward_reads_output } -> std::convertible_to<bool>;
      { L::gradient_in_place } -> std::convertible_to<bool>;
      std::span<const tensor_info>(L::parameter_tensors);         // names and shapes, as PyTorch's
      std::span<const tensor_info>(L::buffer_tensors);
      L::template initialize<float>(values, values, rng);         // PyTorch's default initialisation
    } &&
    (pointwise_layer<L> || requires(const detail::probe_block& a) { L::forward(a); }) &&
    (pointwise_gradient_layer<L> || requires(const detail::probe_block& a) { L::backward(a); }) &&
    (!batch_statistics_layer<L> || requires(const detail::probe_block& a, const detail::probe_batch& b) {
      L::forward_block_sums(a);
      L::backward_block_sums(a);
      L::backward_batch(b);
    });

}  // namespace typenet

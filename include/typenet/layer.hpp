#pragma once
// The layer contract. A layer is a type that carries hyperparameters only
// (`conv<16, 3>`); the network binds it to the shape that reaches it
// (`conv<16, 3>::bind<shape<1, 28, 28>>`), and the bound type carries the
// facts and the kernels. To add a layer of your own, write one header:
//
//   struct square {                                   // y = x * x
//     static constexpr std::string_view name = "square";
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
// What a bound layer provides (layer_defaults supplies the zeros):
//   input_shape, output_shape          shapes of one sample
//   problem                            no_problem, or why it does not fit (diagnostics.hpp)
//   parameter_count, buffer_count      trainable scalars; non-trainable state (running stats)
//   kernel, stride                     its step of the receptive field
//   multiply_adds                      per sample, forward
//   scratch_size                       packs of per-block scratch it needs during a call
//   in_place                           it may write its output over its input: out[i] needs
//                                      only in[i], and backward never reads `in`
//   backward_reads_output              backward reads `out` (so no later layer may overwrite it)
//   state_size                         scalars it keeps from forward to backward of a step
//   gradient_in_place                  backward may write d_in over d_out (d_in[i] needs
//                                      d_out[i] only): the engine then passes the same buffer
//   parameter_tensors, buffer_tensors  names and shapes, for checkpoints (PyTorch names)
//   initialize(params, buffers, rng)   PyTorch's default initialisation
//   forward(block_args), backward(block_args)
//                                      one block of samples, independent of the others
//   pointwise, forward_at(block_args, channel)
//                                      instead of forward: out[i] = f(i, in[i]) for element
//                                      i of the channel, f = forward_at(a, channel) (so that
//                                      per-channel constants are computed once)
//   pointwise_backward, backward_at(block_args, channel)
//                                      instead of backward, for a parameter-free pointwise
//                                      layer: d_in[i] = g(i, out[i], d_out[i]), g = backward_at(a, channel)
//                                      The engine runs a pointwise layer followed by
//                                      pointwise_backward ones as one pass (a chain): in
//                                      forward, values between them stay in registers; in
//                                      backward, they are recomputed from the chain's input.
//   forward_block_sums(block_args), forward_batch(batch_args),
//   backward_block_sums(block_args), backward_batch(batch_args)
//                                      optional: for layers that need the whole batch in
//                                      training (batch norm). In training the engine calls
//                                      forward_block_sums per block (in the task that has
//                                      just computed the block's `in`; it leaves its sums in
//                                      the block's scratch), then forward_batch once (which
//                                      adds them up), then forward per block; backward_block_sums
//                                      (once the block's `d_out` is computed), backward_batch,
//                                      then backward per block. They share what they need
//                                      through `state`.
// Kernels see one block of `lanes` samples: every activation is a pack (pack.hpp), laid out
// [channel][row][column]. backward() adds the block's parameter gradients into `grads` and
// writes `d_in` unless it is null (the first layer has no input gradient to give).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "diagnostics.hpp"
#include "random.hpp"

namespace typenet {

enum class mode { train, eval };
enum class bias { off, on };

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
  static constexpr std::size_t multiply_adds = 0;
  static constexpr std::size_t scratch_size = 0;
  static constexpr std::size_t state_size = 0;
  static constexpr bool in_place = false;
  static constexpr bool backward_reads_output = true;
  static constexpr bool pointwise = false;
  static constexpr bool pointwise_backward = false;
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

// What a batch-wide kernel sees: the blocks of the whole batch.
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
  V* scratch;           // block b's scratch at scratch + b * scratch_stride
  std::size_t scratch_stride;
  const V* valid;       // valid[b]: lane mask of block b
  std::size_t blocks;
  std::size_t samples;  // valid lanes in all
  mode run_mode;
};

}  // namespace typenet

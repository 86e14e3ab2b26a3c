#pragma once
// model<Net, T>: the runtime of a network type. Parameters and their gradients
// are one flat vector each (layer I's slice at Net::parameter_offset<I>); the
// activations of a batch live in one arena allocated at construction, so a
// training step allocates nothing.
//
//   typenet::model<net> m(128);                       // batches of up to 128 samples
//   m.initialize(seed);
//   float loss = m.train_forward_backward<typenet::nll_loss>(images, labels, n, key);
//   optimizer.step(m.parameters(), m.gradients(), lr);
//
// A batch is cut into blocks of `lanes` samples, each block one SIMD pack per
// activation (pack.hpp). Blocks run in parallel (oneTBB), each with its own
// gradient slice; the slices are then added in block order. The decomposition
// depends on the batch only, never on the thread count, so training is
// bit-identical with 1, 2 or 16 threads.
//
// Several processes may train on one batch (share_batches, block_exchange.hpp):
// each computes its share of the blocks, and every sum over the batch is still
// the same fold over all of them in block order, so that too is bit-identical.
#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <tbb/task_arena.h>
#include <utility>
#include <vector>

#include "typenet/net/layer.hpp"
#include "typenet/core/pack.hpp"
#include "typenet/core/parallel.hpp"
#include "typenet/core/random.hpp"
#include "typenet/engine/block_exchange.hpp"
#include "typenet/engine/plan.hpp"
#include "typenet/kernels/epilogue.hpp"

namespace typenet {

template <class Net, class T = float, activation_memory Memory = activation_memory::reused,
          std::size_t Lanes = default_lanes<T>>
class model {
 public:
  using network = Net;
  using scalar = T;
  using V = pack<T, Lanes>;
  static constexpr std::size_t lanes = Lanes;
  static constexpr std::size_t depth = Net::depth;
  using plan = execution_plan<Net, Memory, V, T>;

  explicit model(std::size_t max_batch)
      : max_blocks_((std::max<std::size_t>(max_batch, 1) + Lanes - 1) / Lanes),
        parameters_(Net::parameter_count),
        gradients_(Net::parameter_count),
        buffers_(Net::buffer_count),
        state_(plan::state_offset[depth]),
        activations_(max_blocks_ * plan::activation_size + slack),
        d_a_(max_blocks_ * plan::largest_activation + slack),
        d_b_(max_blocks_ * plan::largest_activation + slack),
        scratch_(max_blocks_ * plan::scratch_stride + slack),
        block_gradients_(max_blocks_ * Net::parameter_count),
        valid_(max_blocks_),
        outputs_(max_blocks_ * Lanes * Net::output_size) {}

  std::size_t max_batch() const { return max_blocks_ * Lanes; }

  // The bytes a model for batches of `max_batch` allocates, to refuse a batch
  // that cannot fit before trying: what the constructor above allocates.
  static constexpr double bytes_for(std::size_t max_batch) {
    const double blocks = static_cast<double>((std::max<std::size_t>(max_batch, 1) + Lanes - 1) / Lanes);
    const double packs = blocks * static_cast<double>(plan::activation_size + 2 * plan::largest_activation +
                                                      plan::scratch_stride + 1) + 4.0 * slack;
    const double scalars = blocks * static_cast<double>(Net::parameter_count + Lanes * Net::output_size) +
                           static_cast<double>(2 * Net::parameter_count + Net::buffer_count + plan::state_offset[depth]);
    return packs * sizeof(V) + scalars * sizeof(T);
  }
  // Parameters lent as a mutable span may change behind the model's back: from then
  // on every pass compares the weights it prepared from with them (conv: a memcmp of
  // its weights, 0.5 to 0.7 us of one ref11k image's 15). Those that come only from
  // initialize() and set_parameters() change where the model sees it, and a pass
  // between changes prepares nothing.
  std::span<T> parameters() {
    parameters_lent_ = true;
    return parameters_;
  }
  std::span<const T> parameters() const { return parameters_; }
  void set_parameters(std::span<const T> values) {
    if (values.size() != parameters_.size())
      throw std::invalid_argument("typenet::model::set_parameters: " + std::to_string(values.size()) +
                                  " values for " + std::to_string(parameters_.size()) + " parameters");
    std::ranges::copy(values, parameters_.begin());
    parameters_changed_ = true;
  }
  std::span<T> gradients() { return gradients_; }
  std::span<T> buffers() { return buffers_; }
  std::span<const T> buffers() const { return buffers_; }

  // Training steps from here on compute only this process's share of each batch's
  // blocks, `exchange` giving them the others'; null: every block, in this process.
  void share_batches(block_exchange* exchange) { exchange_ = exchange; }
  // The samples of a training batch of `count` that this process computes: those
  // whose inputs and targets train_forward_backward takes.
  unit_range batch_share(std::size_t count) const {
    const unit_range blocks = block_share((count + Lanes - 1) / Lanes);
    const std::size_t first = std::min(blocks.first * Lanes, count);
    return {first, std::min(blocks.count * Lanes, count - first)};
  }

  // PyTorch's default initialisation, drawn from `seed` in layer order.
  void initialize(std::uint64_t seed) {
    parameters_changed_ = true;
    random_sequence rng(random_key(seed, stream::init));
    each_layer([&]<std::size_t I>() {
      using L = typename Net::template layer<I>;
      L::template initialize<T>(std::span<T>(parameters_.data() + Net::template parameter_offset<I>, L::parameter_count),
                                std::span<T>(buffers_.data() + Net::template buffer_offset<I>, L::buffer_count), rng);
    });
  }

  // Runs `count` samples (sample-major, Net::input_size scalars each) forward and
  // returns their outputs, sample-major. `key` draws the dropout masks in training.
  std::span<const T> forward(std::span<const T> inputs, std::size_t count, mode run_mode, std::uint64_t key = 0) {
    load(inputs, count, {0, (count + Lanes - 1) / Lanes});
    run_forward(run_mode, key);
    return outputs();
  }

  // The outputs of the last batch (of this process's share of it), sample-major.
  std::span<const T> outputs() {
    const std::size_t samples = local_samples();
    run_blocks([&](std::size_t b) {
      const V* y = activation<depth>(b);
      for (std::size_t l = 0; l < Lanes && b * Lanes + l < samples; ++l)
        for (std::size_t e = 0; e < Net::output_size; ++e) outputs_[(b * Lanes + l) * Net::output_size + e] = y[e][l];
    });
    return std::span<const T>(outputs_.data(), samples * Net::output_size);
  }

  struct evaluation {
    std::vector<T> outputs;  // sample-major, Net::output_size each
    std::vector<T> losses;   // one per sample
  };

  // Evaluation-mode outputs and per-sample losses of any number of samples: they
  // run in batches of max_batch(), and a sample's numbers do not depend on the
  // batch it ran in (evaluation mode uses no batch statistics), so a training
  // model evaluates a whole data set without a copy of its weights.
  template <class Loss>
  evaluation evaluate(std::span<const T> inputs, std::span<const T> targets, std::size_t count) {
    constexpr std::size_t target_size = Loss::template target_size<Net::output_size>;
    if (inputs.size() < count * Net::input_size || targets.size() < count * target_size)
      throw std::invalid_argument("typenet: " + std::to_string(count) + " samples need " +
                                  std::to_string(count * Net::input_size) + " inputs and " +
                                  std::to_string(count * target_size) + " targets, got " +
                                  std::to_string(inputs.size()) + " and " + std::to_string(targets.size()));
    evaluation e{std::vector<T>(count * Net::output_size), std::vector<T>(count)};
    for (std::size_t first = 0; first < count; first += max_batch()) {
      const std::size_t n = std::min(max_batch(), count - first);
      const auto out = forward(inputs.subspan(first * Net::input_size, n * Net::input_size), n, mode::eval);
      std::ranges::copy(out, e.outputs.begin() + first * Net::output_size);
      run_blocks([&](std::size_t b) {
        V target[target_size];
        for (std::size_t t = 0; t < target_size; ++t)
          for (std::size_t l = 0; l < Lanes; ++l) {
            const std::size_t s = b * Lanes + l;
            target[t][l] = s < n ? targets[(first + s) * target_size + t] : T(0);
          }
        V* unused_gradient = d_a_.data() + b * plan::largest_activation;
        const V loss = Loss::template value<Net::output_size>(activation<depth>(b), target, unused_gradient, T(1));
        for (std::size_t l = 0; l < Lanes && b * Lanes + l < n; ++l) e.losses[first + b * Lanes + l] = loss[l];
      });
    }
    return e;
  }

  // Output of layer I - 1 (the input, for I = 0) for one sample of the last batch:
  // for looking inside a network, as the course's worked example does. Needs
  // activation_memory::kept where a later layer overwrites it.
  template <std::size_t I>
  std::vector<T> activation_of(std::size_t sample) {
    constexpr std::size_t size = I == 0 ? Net::input_size : Net::facts[I - 1].output_size;
    const V* a = activation<I>(sample / Lanes);
    std::vector<T> values(size);
    for (std::size_t e = 0; e < size; ++e) values[e] = a[e][sample % Lanes];
    return values;
  }

  // One training step's forward and backward over a batch of `count` samples:
  // leaves the gradient of the mean loss in gradients() and returns the summed
  // loss. Inputs and targets (Loss::target_size scalars per sample) are those of
  // batch_share(count), all `count` samples in one process.
  template <class Loss>
  T train_forward_backward(std::span<const T> inputs, std::span<const T> targets, std::size_t count, std::uint64_t key) {
    constexpr std::size_t target_size = Loss::template target_size<Net::output_size>;
    const std::size_t samples = batch_share(count).count;
    if (targets.size() < samples * target_size)
      throw std::invalid_argument("typenet: " + std::to_string(samples) + " samples need " +
                                  std::to_string(samples * target_size) + " targets, got " + std::to_string(targets.size()));
    load(inputs, count, block_share((count + Lanes - 1) / Lanes));
    run_forward(mode::train, key);

    // The loss's gradient at the output, per block; padding lanes give nothing.
    V* top = d_out_of<depth - 1>();
    std::vector<T>& losses = block_losses_;
    losses.assign(batch_blocks_, T(0));
    const T scale = T(1) / static_cast<T>(count);
    run_blocks([&](std::size_t b) {
      V target[target_size];
      for (std::size_t e = 0; e < target_size; ++e)
        for (std::size_t l = 0; l < Lanes; ++l) {
          const std::size_t s = b * Lanes + l;
          target[e][l] = s < samples ? targets[s * target_size + e] : T(0);
        }
      V* grad = top + b * plan::largest_activation;
      const V e = Loss::template value<Net::output_size>(activation<depth>(b), target, grad, scale);
      for (std::size_t i = 0; i < Net::output_size; ++i) grad[i] *= valid_[b];
      losses[first_block_ + b] = lane_sum(e * valid_[b]);
      // Each block's gradients zeroed in its own task, not in a serial pass. (The batch
      // kernels add theirs to the first block's, which only the process holding it folds.)
      std::fill_n(block_gradients_.data() + (first_block_ + b) * Net::parameter_count, Net::parameter_count, T(0));
    });
    run_backward(key);
    gather_blocks(losses.data(), sizeof(T), sizeof(T));
    reduce_gradients();
    T total = 0;
    for (T l : losses) total += l;
    return total;
  }

 private:
  // A one-sample kernel may read a register and a kernel's width past the end of a
  // buffer (correlate.hpp), or two registers (winograd.hpp).
  static constexpr std::size_t slack = (2 * vector_bytes / sizeof(T) + plan::largest_kernel + Lanes - 1) / Lanes;

  template <class F>
  static void each_layer(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (f.template operator()<I>(), ...); }(std::make_index_sequence<depth>{});
  }
  template <class F>
  void run_blocks(F&& f) const {
    parallel_each(blocks_, f);
  }

  // Activation I (0: input, I: output of layer I-1) of block b.
  template <std::size_t I>
  V* activation(std::size_t b) {
    constexpr std::size_t size = I == 0 ? Net::input_size : Net::facts[I - 1].output_size;
    return activations_.data() + blocks_ * plan::activation_offset[I] + b * size;
  }

  unit_range block_share(std::size_t blocks) const { return exchange_ ? exchange_->share(blocks) : unit_range{0, blocks}; }
  // The samples of the last batch this process holds.
  std::size_t local_samples() const { return std::min(blocks_ * Lanes, count_ - std::min(first_block_ * Lanes, count_)); }

  // Fills in the other processes' blocks of a per-block array (`width` bytes at
  // base + b * stride for every block of the batch).
  template <class U>
  void gather_blocks(U* base, std::size_t stride, std::size_t width) {
    if (exchange_) exchange_->gather(reinterpret_cast<std::byte*>(base), stride, width, batch_blocks_);
  }
  // Layer I's per-block sums (its scratch), before its batch kernel adds them.
  template <std::size_t I>
  void gather_block_sums() {
    gather_blocks(scratch_.data(), plan::scratch_stride * sizeof(V), Net::template layer<I>::block_sums_size * sizeof(T));
  }

  // A batch of `count` samples, of which this process computes `share` (blocks);
  // `inputs` holds the share's samples.
  void load(std::span<const T> inputs, std::size_t count, unit_range share) {
    if (count == 0 || count > max_batch())
      throw std::invalid_argument("typenet: batch of " + std::to_string(count) + " samples; this model takes 1 to " +
                                  std::to_string(max_batch()));
    batch_blocks_ = (count + Lanes - 1) / Lanes;
    first_block_ = share.first;
    blocks_ = share.count;
    count_ = count;
    const std::size_t samples = local_samples();
    if (inputs.size() < samples * Net::input_size)
      throw std::invalid_argument("typenet: " + std::to_string(samples) + " samples need " +
                                  std::to_string(samples * Net::input_size) + " input scalars, got " +
                                  std::to_string(inputs.size()));
    run_blocks([&](std::size_t b) {
      V* x = activation<0>(b);
      const std::size_t lanes = std::min(Lanes, samples - std::min(samples, b * Lanes));  // holding a sample
      const T* first = inputs.data() + b * Lanes * Net::input_size;
      for (std::size_t l = 0; l < Lanes; ++l) valid_[b][l] = l < lanes ? T(1) : T(0);
      // Element by element, each pack gathered in a register and stored once.
      for (std::size_t e = 0; e < Net::input_size; ++e) {
        V v{};
        if (lanes == Lanes)
          for (std::size_t l = 0; l < Lanes; ++l) v[l] = first[l * Net::input_size + e];
        else
          for (std::size_t l = 0; l < lanes; ++l) v[l] = first[l * Net::input_size + e];
        x[e] = v;
      }
    });
  }

  template <std::size_t I>
  block_args<V, T> block_of(std::size_t b, mode run_mode, std::uint64_t key) {
    block_args<V, T> a{};
    a.params = parameters_.data() + Net::template parameter_offset<I>;
    a.grads = block_gradients_.data() + (first_block_ + b) * Net::parameter_count + Net::template parameter_offset<I>;
    a.buffers = buffers_.data() + Net::template buffer_offset<I>;
    a.in = activation<I>(b);
    a.out = activation<I + 1>(b);
    a.scratch = scratch_.data() + (first_block_ + b) * plan::scratch_stride;
    a.state = state_.data() + plan::state_offset[I];
    a.valid = valid_[b];
    a.run_mode = run_mode;
    a.split_channels = blocks_ < static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
    a.key = mix64(key + I);
    a.first_sample = (first_block_ + b) * Lanes;
    return a;
  }

  template <std::size_t I>
  batch_args<V, T> batch_of(mode run_mode) {
    batch_args<V, T> a{};
    a.params = parameters_.data() + Net::template parameter_offset<I>;
    a.grads = block_gradients_.data() + Net::template parameter_offset<I>;
    a.buffers = buffers_.data() + Net::template buffer_offset<I>;
    a.state = state_.data() + plan::state_offset[I];
    a.in = activation<I>(0);
    a.out = activation<I + 1>(0);
    a.scratch = scratch_.data();
    a.scratch_stride = plan::scratch_stride;
    a.gradient_stride = plan::largest_activation;
    a.valid = valid_.data();
    a.blocks = batch_blocks_;
    a.samples = count_;
    a.run_mode = run_mode;
    return a;
  }

  // The state that layers prepare from their parameters (preparing_layer), once per
  // pass; the blocks then read it.
  void prepare_layers() {
    if (!parameters_lent_ && !parameters_changed_) return;
    parameters_changed_ = false;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      const auto prepare = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
        using L = typename Net::template layer<J>;
        if constexpr (preparing_layer<L>)
          L::prepare(std::span<const T>(parameters_).subspan(Net::template parameter_offset<J>, L::parameter_count),
                     std::span<T>(state_).subspan(plan::state_offset[J], L::state_size));
      };
      (prepare(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<depth>{});
  }

  // Layers run in segments: a block runs through every layer between two batch
  // barriers in one task, so its activations stay in cache from layer to layer.
  // A barrier is a batch layer's batch kernel (its statistics); the layer's block
  // kernel then opens the next segment.
  // Evaluation needs no batch statistics: the whole network is one segment.
  void run_forward(mode run_mode, std::uint64_t key);  // defined below the class, so that a
  void run_backward(std::uint64_t key);                // translation unit may leave it to another

  template <std::size_t First = 0>
  void run_training_forward(std::uint64_t key) {
    if constexpr (plan::batch_layer[First]) {
      if constexpr (First == 0)  // no segment before it to gather its sums
        run_blocks([&](std::size_t b) { Net::template layer<0>::forward_block_sums(block_of<0>(b, mode::train, key)); });
      gather_block_sums<First>();
      Net::template layer<First>::forward_batch(batch_of<First>(mode::train));
    }
    constexpr std::size_t end = plan::next_barrier[First];
    run_blocks([&](std::size_t b) {
      forward_layers<First, end>(b, mode::train, key);
      if constexpr (end < depth) Net::template layer<end>::forward_block_sums(block_of<end>(b, mode::train, key));
    });
    if constexpr (end < depth) run_training_forward<end>(key);
  }

  // Layers I to End - 1 of block b; a chain never crosses a barrier.
  template <std::size_t I, std::size_t End>
  void forward_layers(std::size_t b, mode run_mode, std::uint64_t key) {
    if constexpr (I < End) {
      using L = typename Net::template layer<I>;
      if constexpr (pointwise_layer<L>) {
        constexpr std::size_t last = plan::chain_end[I];
        forward_chain<I, last>(b, run_mode, key);
        forward_layers<last + 1 + chain_feeds_windows<last>, End>(b, run_mode, key);  // past the pool it ran
      } else {
        if constexpr (takes_chain_as_epilogue<I, End>)
          if (run_mode == mode::eval) {
            forward_into_chain<I, End>(b, key);
            return forward_layers<plan::chain_end[I + 1] + 1 + epilogue_pools<I, End>, End>(b, run_mode, key);
          }
        L::forward(block_of<I>(b, run_mode, key));
        forward_layers<I + 1, End>(b, run_mode, key);
      }
    }
  }

  // Layer I runs the chain after it as its epilogue, in evaluation (in training the
  // chain's backward needs the chain's input, which the epilogue never stores).
  template <std::size_t I, std::size_t End>
  static constexpr bool takes_chain_as_epilogue = [] {
    if constexpr (I + 1 < End && Memory == activation_memory::reused)
      return epilogue_layer<typename Net::template layer<I>> && pointwise_layer<typename Net::template layer<I + 1>>;
    else return false;
  }();

  // Where one sample's kernel holds channels in registers, it takes the chain as a
  // function of them (kernels/epilogue.hpp), and may run the max-pool after it too:
  // where every layer of the chain has that function, and the pool's windows fit
  // the kernel's tiles (conv::pools_one_sample).
  template <std::size_t First, std::size_t Last>
  static constexpr bool chain_over_channels = []<std::size_t... J>(std::index_sequence<J...>) {
    return (over_channels_layer<typename Net::template layer<First + J>> && ...);
  }(std::make_index_sequence<Last - First + 1>{});
  template <std::size_t I, std::size_t End>
  static constexpr bool epilogue_pools = [] {
    constexpr std::size_t last = plan::chain_end[I + 1];
    if constexpr (Lanes == 1 && last + 1 < End && chain_over_channels<I + 1, last>) {
      using P = typename Net::template layer<last + 1>;
      return requires {
        requires P::takes_maximum;
        requires Net::template layer<I>::template pools_one_sample<P::window_height, P::window_width>;
      };
    }
    return false;
  }();

  // Layer I and the chain after it in one pass: each output goes through the
  // chain before it is stored, where the chain would have left it (or, where
  // the epilogue pools, the pool).
  template <std::size_t I, std::size_t End>
  void forward_into_chain(std::size_t b, std::uint64_t key) {
    constexpr std::size_t first = I + 1, last = plan::chain_end[first];
    block_args<V, T> a = block_of<I>(b, mode::eval, key);
    a.out = activation<last + 1 + epilogue_pools<I, End>>(b);
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      const std::tuple args{block_of<first + J>(b, mode::eval, key)...};
      const auto per_channel = [&](std::size_t ch) { return chain_function<first, J...>(args, ch); };
      if constexpr (chain_over_channels<first, last>) {
        const auto over = [&]<class X>(std::size_t first_channel) {
          return [f = std::tuple{Net::template layer<first + J>::template evaluate_over_channels<X>(std::get<J>(args),
                                                                                                    first_channel)...}](X x) {
            ((x = std::get<J>(f)(x)), ...);
            return x;
          };
        };
        if constexpr (epilogue_pools<I, End>) {
          using P = typename Net::template layer<last + 1>;
          Net::template layer<I>::forward(
              a, layers_epilogue<decltype(per_channel), decltype(over), P::window_height, P::window_width>{per_channel, over});
        } else {
          Net::template layer<I>::forward(a, layers_epilogue<decltype(per_channel), decltype(over)>{per_channel, over});
        }
      } else {
        Net::template layer<I>::forward(a, per_channel);
      }
    }(std::make_index_sequence<last - first + 1>{});
  }

  // Pointwise layers First + J... at channel ch (args: their block_args) as one
  // function: x through each in turn.
  template <std::size_t First, std::size_t... J, class Args>
  static auto chain_function(const Args& args, std::size_t ch) {
    return [f = std::tuple{Net::template layer<First + J>::forward_at(std::get<J>(args), ch)...}](std::size_t i, auto x) {
      ((x = std::get<J>(f)(i, x)), ...);
      return x;
    };
  }

  // Pointwise layers First..Last in one pass: the values between them stay in registers.
  // Where the chain feeds a max-pool's windows, the pool runs in the same pass.
  template <std::size_t First, std::size_t Last>
  void forward_chain(std::size_t b, mode run_mode, std::uint64_t key) {
    using S = typename Net::template layer<First>::input_shape;
    const V* in = activation<First>(b);
    V* out = activation<Last + 1>(b);  // or the winners of the pool's windows
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      const std::tuple args{block_of<First + J>(b, run_mode, key)...};
      [[maybe_unused]] const auto pool = [&] {
        if constexpr (chain_feeds_windows<Last>) return block_of<Last + 1>(b, run_mode, key);
        else return 0;
      }();
      for (std::size_t ch = 0; ch < S::channels; ++ch) {
        const auto f = chain_function<First, J...>(args, ch);
        if constexpr (chain_feeds_windows<Last>)
          Net::template layer<Last + 1>::forward_keeping_winners(pool, out, ch, [&](std::size_t i) { return f(i, in[i]); });
        else
          each_element<V>(ch * S::pixels, (ch + 1) * S::pixels,
                          [&]<class X>(std::size_t i) { store_as(out + i, f(i, load_as<X>(in + i))); });
      }
    }(std::make_index_sequence<Last - First + 1>{});
  }

  // The gradient buffer layer I reads its d_out from (plan.hpp); block b's at b * plan::largest_activation.
  template <std::size_t I>
  V* d_out_of() {
    return plan::reads_second_gradient_buffer[I] ? d_b_.data() : d_a_.data();
  }
  template <std::size_t I>
  V* d_in_of() {
    if constexpr (I == 0) return nullptr;
    else return d_out_of<I - 1>();
  }

  template <std::size_t I>
  void backward_block_sums(std::size_t b, std::uint64_t key) {
    block_args<V, T> a = block_of<I>(b, mode::train, key);
    a.d_out = d_out_of<I>() + b * plan::largest_activation;
    Net::template layer<I>::backward_block_sums(a);
  }

  template <std::size_t I>
  void backward_block(std::size_t b, std::uint64_t key) {
    block_args<V, T> a = block_of<I>(b, mode::train, key);
    a.d_out = d_out_of<I>() + b * plan::largest_activation;
    a.d_in = I == 0 ? nullptr : d_in_of<I>() + b * plan::largest_activation;
    Net::template layer<I>::backward(a);
  }

  template <std::size_t Top>
  void run_backward_from(std::uint64_t key) {
    if constexpr (plan::batch_layer[Top]) {
      if constexpr (Top == depth - 1)  // no segment above it to gather its sums
        run_blocks([&](std::size_t b) { backward_block_sums<Top>(b, key); });
      gather_block_sums<Top>();
      batch_args<V, T> a = batch_of<Top>(mode::train);
      a.d_out = d_out_of<Top>();
      a.d_in = d_in_of<Top>();
      Net::template layer<Top>::backward_batch(a);
    }
    constexpr std::size_t bottom = plan::segment_bottom[Top];
    run_blocks([&](std::size_t b) {
      backward_layers<Top, bottom>(b, key);
      if constexpr (bottom > 0 && !chain_takes_block_sums<plan::chain_start[bottom], bottom>)
        backward_block_sums<bottom - 1>(b, key);
    });
    if constexpr (bottom > 0) run_backward_from<bottom - 1>(key);
  }

  // Layers I down to Bottom of block b; the chain at I computes the input gradient of
  // layer Above (I + 1) as it reads it, where Above is not no_layer.
  static constexpr std::size_t no_layer = ~std::size_t{0};
  template <std::size_t I, std::size_t Bottom, std::size_t Above = no_layer>
  void backward_layers(std::size_t b, std::uint64_t key) {
    constexpr std::size_t first = plan::chain_start[I];
    // The chain's layers from `low` up have pointwise gradients (its first may not: batch norm).
    constexpr std::size_t low = pointwise_gradient_layer<typename Net::template layer<first>> ? first : first + 1;
    constexpr bool chain = pointwise_gradient_layer<typename Net::template layer<I>>;
    constexpr std::size_t done = chain ? low : I;  // the lowest layer this call takes
    if constexpr (chain_computes_input_gradient_of<I, Bottom>) {
      backward_layers<I - 1, Bottom, I>(b, key);
    } else {
      if constexpr (chain) backward_chain<first, low, I, Above>(b, key);
      else backward_block<I>(b, key);
      if constexpr (done > Bottom) backward_layers<done - 1, Bottom>(b, key);
    }
  }

  // In blocks of samples, layer I's input gradient is left to the chain below it,
  // where I can give it one element at a time (a pooling layer: no weights, and its
  // own pass would write a whole map for the chain to read back).
  template <std::size_t I, std::size_t Bottom>
  static constexpr bool chain_computes_input_gradient_of = [] {
    if constexpr (I > Bottom && Lanes > 1)
      return pointwise_gradient_layer<typename Net::template layer<I - 1>> && requires(const block_args<V, T>& a) {
        { Net::template layer<I>::input_gradient_at(a, std::size_t{}) } -> std::same_as<V>;
      };
    else return false;
  }();

  // In blocks of samples, a chain ending at Last whose output only a max-pool reads
  // runs into the pool's windows and is never stored: the pool keeps the winning taps
  // in its place (forward_keeping_winners), so the chain's output, a map as large as
  // its input, is neither written nor read back, forward or backward. The chain must
  // not write over its input, which its backward reads, and must compute the pool's
  // input gradient (in the same segment, chain_computes_input_gradient_of).
  template <std::size_t Last>
  static constexpr bool chain_feeds_windows = [] {
    if constexpr (Last + 1 < depth && Memory == activation_memory::reused && !plan::overwrites[Last]) {
      if constexpr (chain_computes_input_gradient_of<Last + 1, plan::segment_bottom[Last + 1]>)
        return requires(const block_args<V, T>& a, V* winners) {
          Net::template layer<Last + 1>::forward_keeping_winners(a, winners, std::size_t{}, [](std::size_t) { return V{}; });
        };
    }
    return false;
  }();

  // A chain whose first layer is a batch layer (First < Low) computes the gradient at
  // that layer's output: in blocks of samples, it takes the layer's block sums too
  // in the same pass, where the layer can take them one element at a time.
  template <std::size_t First, std::size_t Low>
  static constexpr bool chain_takes_block_sums =
      First < Low && Lanes > 1 && requires(const block_args<V, T>& a) {
        Net::template layer<First>::backward_sums_at(a, std::size_t{});
      };

  // Gradients of chain layers Low..Last in one pass, the values recomputed from the
  // chain's input (or, for a chain of one, read from its output).
  // With chain_takes_block_sums, First's block sums too; with Above, its gradient at
  // the chain's output computed, not read.
  template <std::size_t First, std::size_t Low, std::size_t Last, std::size_t Above>
  void backward_chain(std::size_t b, std::uint64_t key) {
    if constexpr (Low > 0) {
      using S = typename Net::template layer<First>::input_shape;
      constexpr std::size_t n = Last - First + 1;
      constexpr bool windows = chain_feeds_windows<Last>;  // its output is not stored
      const V* in = activation<First>(b);
      const V* out = activation<Last + 1>(b);
      const V* d_out = d_out_of<Last>() + b * plan::largest_activation;
      V* d_in = d_in_of<Low>() + b * plan::largest_activation;
      block_args<V, T> above{};  // layer Above's, whose input gradient the chain computes
      if constexpr (Above != no_layer) {
        above = block_of<Above>(b, mode::train, key);
        above.d_out = d_out_of<Above>() + b * plan::largest_activation;
      }
      [&]<std::size_t... J>(std::index_sequence<J...>) {
        const std::tuple args{block_of<First + J>(b, mode::train, key)...};
        for (std::size_t ch = 0; ch < S::channels; ++ch) {
          const std::tuple f{Net::template layer<First + J>::forward_at(std::get<J>(args), ch)...};
          const std::tuple g{backward_at_or_none<First + J, Low>(std::get<J>(args), ch)...};
          auto sums = [&] {
            if constexpr (chain_takes_block_sums<First, Low>) return Net::template layer<First>::backward_sums_at(std::get<0>(args), ch);
            else return 0;
          }();
          each_element<V>(ch * S::pixels, (ch + 1) * S::pixels, [&]<class X>(std::size_t i) {
            X v[n + 1];
            if constexpr (n == 1 && !windows) v[1] = load_as<X>(out + i);
            else v[0] = load_as<X>(in + i), ((v[J + 1] = std::get<J>(f)(i, v[J])), ...);
            const auto gradient = [&]<std::size_t K>(X d) {  // through chain layer K, if it has one
              if constexpr (First + K >= Low) return std::get<K>(g)(i, v[K + 1], d);
              else return d;
            };
            X d = [&] {
              if constexpr (windows) return Net::template layer<Above>::input_gradient_from_winners(above, i);
              else if constexpr (Above != no_layer) return Net::template layer<Above>::input_gradient_at(above, i);
              else return load_as<X>(d_out + i);
            }();
            ((d = gradient.template operator()<n - 1 - J>(d)), ...);
            store_as(d_in + i, d);
            if constexpr (chain_takes_block_sums<First, Low>) sums.add(v[0], d);
          });
          if constexpr (chain_takes_block_sums<First, Low>) sums.store();
        }
      }(std::make_index_sequence<n>{});
    }
  }
  template <std::size_t I, std::size_t Low, class A>
  static auto backward_at_or_none(const A& a, std::size_t ch) {
    if constexpr (I >= Low) return Net::template layer<I>::backward_at(a, ch);
    else return 0;
  }

  void reduce_gradients() {
    if (exchange_) exchange_->fold(gradients_.data(), block_gradients_.data(), Net::parameter_count, batch_blocks_);
    else fold_units(gradients_.data(), block_gradients_.data(), Net::parameter_count, {0, batch_blocks_});
  }

  std::size_t max_blocks_;
  // The last batch: its blocks and samples, and this process's blocks of them
  // [first_block_, first_block_ + blocks_). Activations hold this process's blocks;
  // the per-block arrays (block_gradients_, scratch_, block_losses_) are indexed by
  // the batch's blocks, and after a gather hold every block's sums.
  std::size_t batch_blocks_ = 0, count_ = 0, first_block_ = 0, blocks_ = 0;
  block_exchange* exchange_ = nullptr;
  bool parameters_lent_ = false, parameters_changed_ = true;
  std::vector<T> parameters_, gradients_, buffers_, state_;
  std::vector<V> activations_, d_a_, d_b_, scratch_;
  std::vector<T> block_gradients_;
  std::vector<V> valid_;
  std::vector<T> outputs_;
  std::vector<T> block_losses_;
};

// The forward and backward passes, the bulk of a network's code: out of the class,
// so that `extern template` can leave each to a translation unit of its own
// (typenet_add_trainer builds the passes in parallel) without changing the code.
template <class Net, class T, activation_memory Memory, std::size_t Lanes>
void model<Net, T, Memory, Lanes>::run_forward(mode run_mode, std::uint64_t key) {
  prepare_layers();
  if (run_mode == mode::train) return run_training_forward(key);
  run_blocks([&](std::size_t b) { forward_layers<0, depth>(b, mode::eval, key); });
}

template <class Net, class T, activation_memory Memory, std::size_t Lanes>
void model<Net, T, Memory, Lanes>::run_backward(std::uint64_t key) {
  run_backward_from<depth - 1>(key);
}

// Blocks of one sample, whose kernels vectorise over pixels instead: for the
// latency of single samples and for batches much smaller than a pack.
template <class Net, class T = float>
using single_sample_model = model<Net, T, activation_memory::reused, 1>;

}  // namespace typenet

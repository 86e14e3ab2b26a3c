#pragma once
// trainable: a network's model as the run library sees it, without its type.
// The run half (epoch loop, checkpoints, evaluation) is compiled once against
// this interface; model_trainable<Net> (model_trainable.hpp) adapts a model to it,
// so a trainer program compiles only its own network's engine.
//
//   typenet::trainable_network net = typenet::trainable_network_of<my_net>();
//   std::unique_ptr<typenet::trainable> m = net.make(128);   // batches of up to 128
//   m->initialize(seed);
//   float loss = m->train_step(images, labels, n, dropout_key);
//   optimizer.step(m->parameters(), m->gradients(), lr);
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "typenet/core/shape.hpp"
#include "typenet/engine/block_exchange.hpp"
#include "typenet/net/network.hpp"

namespace typenet {

// The facts of a network type that the run library needs at run time.
struct network_description {
  dynamic_shape input;
  std::size_t output_size = 0;
  std::size_t parameter_count = 0;
  std::string summary;    // print_summary's table
  std::string signature;  // each layer's kind and output shape: equal for networks with interchangeable checkpoints
  std::vector<layer_facts> layers;  // net::facts: each layer's kind, shapes, kernel, stride, padding (ONNX export)
};

// The description of facts_of<Net>.
network_description describe(const network_facts& net);

// A tensor of PyTorch's state_dict of the equivalent nn.Sequential: its name
// ("4.weight", "5.num_batches_tracked"), its shape and where its values live
// (the weights and statistics, or batch norm's count of training batches).
struct tensor_slot {
  std::string name;
  std::vector<std::size_t> shape;
  std::variant<std::span<float>, std::span<std::int64_t>> values;
};

// The state_dict of a network's tensors (net::tensors), over a model's flat parameters
// and buffers and its per-layer counts of training batches.
std::vector<tensor_slot> state_dict_slots(std::span<const tensor_facts> tensors, std::span<float> parameters,
                                          std::span<float> buffers, std::span<std::int64_t> batches_tracked);

class trainable {
 public:
  virtual ~trainable() = default;

  virtual const network_description& description() const = 0;
  virtual std::size_t max_batch() const = 0;
  // PyTorch's default initialisation, drawn from `seed`.
  virtual void initialize(std::uint64_t seed) = 0;
  // Forward and backward in training mode over a batch of `count` samples; returns the
  // summed loss and leaves the gradient in gradients(). Inputs (sample-major) and targets
  // (one per sample) are batch_share(count)'s, all `count` unless batches are shared.
  virtual float train_step(std::span<const float> inputs, std::span<const float> targets, std::size_t count,
                           std::uint64_t dropout_key) = 0;
  // The outputs of the last train_step (its share's samples), sample-major.
  virtual std::span<const float> outputs() = 0;
  // Data-parallel training (model.hpp): train steps compute this process's share of a
  // batch's blocks, `exchange` gathering the others'; null: the whole batch here.
  virtual void share_batches(block_exchange* exchange) = 0;
  virtual unit_range batch_share(std::size_t count) const = 0;

  struct evaluation {
    std::vector<float> outputs;  // sample-major, description().output_size each
    std::vector<float> losses;   // one per sample
  };
  // Evaluation-mode outputs and per-sample losses of any number of samples.
  virtual evaluation evaluate(std::span<const float> inputs, std::span<const float> targets, std::size_t count) = 0;

  virtual std::span<float> parameters() = 0;
  virtual std::span<const float> gradients() = 0;
  virtual std::span<float> buffers() = 0;  // batch-norm running statistics
  // PyTorch's state_dict, in layer order: each layer's parameters, then its buffers.
  virtual std::vector<tensor_slot> tensors() = 0;
};

// A network type as a value: its description, the bytes a model for a batch
// takes (to refuse a batch that cannot fit before allocating), and a factory.
struct trainable_network {
  network_description description;
  std::function<double(std::size_t max_batch)> bytes_for;
  std::function<std::unique_ptr<trainable>(std::size_t max_batch)> make;
};

}  // namespace typenet

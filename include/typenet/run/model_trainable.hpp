#pragma once
// model_trainable<Net, Loss>: model<Net> behind the trainable interface, and
// trainable_network_of<Net, Loss>(), the network type as a value for the run
// library. This and the engine are all a trainer compiles for its network.
//
//   typenet::train(typenet::trainable_network_of<my_net>(), recipe, options);
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "typenet/learn/loss.hpp"
#include "typenet/engine/model.hpp"
#include "typenet/run/trainable.hpp"

namespace typenet {

template <class Net>
const network_description& description_of() {
  static const network_description d = describe(facts_of<Net>);
  return d;
}

template <class Net, class Loss = nll_loss>
class model_trainable final : public trainable {
 public:
  explicit model_trainable(std::size_t max_batch) : model_(max_batch) {}

  const network_description& description() const override { return description_of<Net>(); }
  std::size_t max_batch() const override { return model_.max_batch(); }
  void initialize(std::uint64_t seed) override {
    model_.initialize(seed);
    batches_tracked_ = {};
  }
  float train_step(std::span<const float> inputs, std::span<const float> targets, std::size_t count,
                   std::uint64_t dropout_key) override {
    for (std::int64_t& n : batches_tracked_) ++n;
    return model_.template train_forward_backward<Loss>(inputs, targets, count, dropout_key);
  }
  std::span<const float> outputs() override { return model_.outputs(); }
  void share_batches(block_exchange* exchange) override { model_.share_batches(exchange); }
  unit_range batch_share(std::size_t count) const override { return model_.batch_share(count); }
  evaluation evaluate(std::span<const float> inputs, std::span<const float> targets, std::size_t count) override {
    auto e = model_.template evaluate<Loss>(inputs, targets, count);
    return {std::move(e.outputs), std::move(e.losses)};
  }
  std::span<float> parameters() override { return model_.parameters(); }
  std::span<const float> gradients() override { return model_.gradients(); }
  std::span<float> buffers() override { return model_.buffers(); }

  std::vector<tensor_slot> tensors() override {
    return state_dict_slots(Net::tensors, parameters(), buffers(), batches_tracked_);
  }

  model<Net>& engine() { return model_; }

 private:
  model<Net> model_;
  // PyTorch's num_batches_tracked: each forward in training mode counts one in every
  // layer; those that train on their batch's statistics (batch norm) store theirs.
  std::array<std::int64_t, Net::depth> batches_tracked_{};
};

template <class Net, class Loss = nll_loss>
trainable_network trainable_network_of() {
  return {description_of<Net>(), [](std::size_t max_batch) { return model<Net>::bytes_for(max_batch); },
          [](std::size_t max_batch) -> std::unique_ptr<trainable> {
            return std::make_unique<model_trainable<Net, Loss>>(max_batch);
          }};
}

}  // namespace typenet

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
#include <string>
#include <utility>
#include <vector>

#include "typenet/learn/loss.hpp"
#include "typenet/engine/model.hpp"
#include "typenet/net/summary.hpp"
#include "typenet/run/trainable.hpp"

namespace typenet {

template <class Net>
const network_description& description_of() {
  static const network_description d = [] {
    using in = typename Net::input_shape;
    network_description n{.input = in::value,
                          .output_size = Net::output_size,
                          .parameter_count = Net::parameter_count,
                          .summary = summary<Net>()};
    n.signature = "input " + in::value.text();
    for (const layer_facts& l : Net::facts) n.signature += "; " + std::string(l.name) + " " + l.output_shape.text();
    n.layers.assign(Net::facts.begin(), Net::facts.end());
    return n;
  }();
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
    std::vector<tensor_slot> slots;
    const auto add = [&](std::size_t layer, const tensor_info& t, std::span<float> values) {
      slots.push_back({std::to_string(layer) + "." + std::string(t.name),
                       std::vector<std::size_t>(t.dims.begin(), t.dims.begin() + t.rank), values});
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (([&] {
         using L = typename Net::template layer<I>;
         std::size_t at = Net::template parameter_offset<I>;
         for (const tensor_info& t : L::parameter_tensors) add(I, t, parameters().subspan(at, t.size())), at += t.size();
         at = Net::template buffer_offset<I>;
         for (const tensor_info& t : L::buffer_tensors) add(I, t, buffers().subspan(at, t.size())), at += t.size();
         if constexpr (batch_statistics_layer<L>)
           slots.push_back({std::to_string(I) + ".num_batches_tracked", {}, std::span(batches_tracked_).subspan(I, 1)});
       }()),
       ...);
    }(std::make_index_sequence<Net::depth>{});
    return slots;
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

#pragma once
// Checkpoints of a model in safetensors: one tensor per layer parameter and
// buffer, named as PyTorch's nn.Sequential names them ("4.weight",
// "5.running_mean"), so torch (safetensors.torch.load_file) can read the weights
// of the same network; plus the optimizer's state and the training progress, so
// that a resumed run continues bit-identically. Written atomically.
//
//   typenet::save_checkpoint(dir / "last.safetensors", model, optimizer.state, {{"epoch", "3"}});
//   auto metadata = typenet::load_checkpoint(path, model, optimizer.state);  // refuses another network
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../engine/model.hpp"
#include "../io/safetensors.hpp"
#include "../summary.hpp"

namespace typenet {

// The network as text: each layer's kind and output shape. Two networks whose
// checkpoints are interchangeable have the same signature.
template <class Net>
std::string network_signature() {
  std::string s = "input " + detail::shape_text({Net::input_shape::channels, Net::input_shape::height, Net::input_shape::width});
  for (const layer_facts& l : Net::facts) s += "; " + std::string(l.name) + " " + detail::shape_text(l.output_shape);
  return s;
}

namespace detail {
// Calls f(name, shape, values) for every stored tensor of the model, in layer order.
template <class Net, class T, class F>
void each_tensor(std::span<T> parameters, std::span<T> buffers, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (([&] {
       using L = typename Net::template layer<I>;
       std::size_t at = Net::template parameter_offset<I>;
       for (const tensor_info& t : L::parameter_tensors) {
         f(std::to_string(I) + "." + std::string(t.name), std::vector<std::size_t>(t.dims.begin(), t.dims.begin() + t.rank),
           parameters.subspan(at, t.size()));
         at += t.size();
       }
       at = Net::template buffer_offset<I>;
       for (const tensor_info& t : L::buffer_tensors) {
         f(std::to_string(I) + "." + std::string(t.name), std::vector<std::size_t>(t.dims.begin(), t.dims.begin() + t.rank),
           buffers.subspan(at, t.size()));
         at += t.size();
       }
     }()),
     ...);
  }(std::make_index_sequence<Net::depth>{});
}
}  // namespace detail

template <class Net, class T>
void save_checkpoint(const std::filesystem::path& path, model<Net, T>& m, std::span<const double> optimizer_state,
                     std::map<std::string, std::string> metadata) {
  std::vector<tensor_view> tensors;
  detail::each_tensor<Net>(m.parameters(), m.buffers(), [&](std::string name, std::vector<std::size_t> shape, std::span<T> v) {
    tensors.push_back({std::move(name), std::move(shape), std::span<const T>(v)});
  });
  tensors.push_back({"optimizer.state", {optimizer_state.size()}, optimizer_state});
  metadata["typenet.network"] = network_signature<Net>();
  save_safetensors(path, tensors, metadata);
}

namespace detail {
// A NaN or infinity in a checkpoint is a corrupt file or a diverged run, never
// something to evaluate or train on.
template <class Values>
void require_finite(const std::filesystem::path& path, const std::string& name, const Values& values) {
  const auto bad = std::ranges::find_if(values, [](auto v) { return !std::isfinite(v); });
  if (bad != values.end())
    throw checkpoint_error(path, "tensor '" + name + "' holds " + std::to_string(*bad) + " at index " +
                                     std::to_string(bad - values.begin()) +
                                     ": the file is corrupt or was saved by a run that diverged");
}
}  // namespace detail

// Loads weights, buffers and optimizer state into m (the state stays as it was
// if the file has none); returns the metadata. A checkpoint of another network
// is refused, naming the first tensor that differs, and so is one holding a NaN
// or an infinity.
template <class Net, class T>
std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, model<Net, T>& m,
                                                   std::vector<double>& optimizer_state) {
  const safetensors_file file = load_safetensors(path);
  detail::each_tensor<Net>(m.parameters(), m.buffers(), [&](const std::string& name, const std::vector<std::size_t>& shape,
                                                           std::span<T> values) {
    const auto found = std::ranges::find(file.tensors, name, &stored_tensor::name);
    if (found == file.tensors.end())
      throw checkpoint_error(path, "was written for another network: it has no tensor '" + name + "' (this network: " +
                                       network_signature<Net>() + ")");
    if (found->shape != shape)
      throw checkpoint_error(path, "was written for another network: tensor '" + name + "' has shape " +
                                       detail::shape_text(found->shape) + ", this network's is " + detail::shape_text(shape));
    std::visit([&](const auto& stored) {
      detail::require_finite(path, name, stored);
      std::ranges::copy(stored, values.begin());
    }, found->data);
  });
  const auto signature = file.metadata.find("typenet.network");
  if (signature != file.metadata.end() && signature->second != network_signature<Net>())
    throw checkpoint_error(path, "was written for another network: " + signature->second + " (this network: " +
                                     network_signature<Net>() + ")");
  const auto state = std::ranges::find(file.tensors, std::string("optimizer.state"), &stored_tensor::name);
  if (state != file.tensors.end())
    std::visit([&](const auto& stored) {
      detail::require_finite(path, state->name, stored);
      optimizer_state.assign(stored.begin(), stored.end());
    }, state->data);
  return file.metadata;
}

}  // namespace typenet

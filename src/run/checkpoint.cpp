#include "typenet/run/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <variant>

#include "typenet/io/safetensors.hpp"

namespace typenet {

namespace {

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

}  // namespace

void save_checkpoint(const std::filesystem::path& path, trainable& m, std::span<const double> optimizer_state,
                     std::map<std::string, std::string> metadata) {
  std::vector<tensor_view> tensors;
  for (const tensor_slot& t : m.tensors()) tensors.push_back({t.name, t.shape, std::span<const float>(t.values)});
  tensors.push_back({"optimizer.state", {optimizer_state.size()}, optimizer_state});
  metadata["typenet.network"] = m.description().signature;
  save_safetensors(path, tensors, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, trainable& m,
                                                   std::vector<double>& optimizer_state) {
  const safetensors_file file = load_safetensors(path);
  const std::string& signature = m.description().signature;
  for (const tensor_slot& t : m.tensors()) {
    const auto found = std::ranges::find(file.tensors, t.name, &stored_tensor::name);
    if (found == file.tensors.end())
      throw checkpoint_error(path, "was written for another network: it has no tensor '" + t.name +
                                       "' (this network: " + signature + ")");
    if (found->shape != t.shape)
      throw checkpoint_error(path, "was written for another network: tensor '" + t.name + "' has shape " +
                                       detail::shape_text(found->shape) + ", this network's is " +
                                       detail::shape_text(t.shape));
    std::visit([&](const auto& stored) {
      require_finite(path, t.name, stored);
      std::ranges::copy(stored, t.values.begin());
    }, found->data);
  }
  const auto stored_signature = file.metadata.find("typenet.network");
  if (stored_signature != file.metadata.end() && stored_signature->second != signature)
    throw checkpoint_error(path, "was written for another network: " + stored_signature->second +
                                     " (this network: " + signature + ")");
  const auto state = std::ranges::find(file.tensors, std::string("optimizer.state"), &stored_tensor::name);
  if (state != file.tensors.end())
    std::visit([&](const auto& stored) {
      require_finite(path, state->name, stored);
      optimizer_state.assign(stored.begin(), stored.end());
    }, state->data);
  return file.metadata;
}

}  // namespace typenet

#include "typenet/run/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// Dot-joined non-empty names, as every key of a PyTorch state_dict.
bool could_be_state_dict_key(std::string_view name) {
  return !name.empty() && !name.starts_with('.') && !name.ends_with('.') && name.find("..") == name.npos;
}

std::vector<tensor_view> state_dict_views(trainable& m) {
  std::vector<tensor_view> views;
  for (const tensor_slot& t : m.tensors())
    views.push_back({t.name, t.shape, std::visit([](auto values) -> decltype(tensor_view::data) { return values; }, t.values)});
  return views;
}

// Every check before the first copy: a refused file leaves m as it was.
std::map<std::string, std::string> load_state_dict(const safetensors_file& file, trainable& m) {
  const std::filesystem::path& path = file.path;
  const std::string& signature = m.description().signature;
  const auto another_network = [&](const std::string& problem) {
    throw checkpoint_error(path, "was written for another network: " + problem + " (this network: " + signature + ")");
  };
  const std::vector<tensor_slot> slots = m.tensors();
  std::vector<const stored_tensor*> sources;  // per slot; null: a num_batches_tracked the file lacks
  for (const tensor_slot& t : slots) {
    const auto found = std::ranges::find(file.tensors, t.name, &stored_tensor::name);
    const bool is_count = std::holds_alternative<std::span<std::int64_t>>(t.values);
    sources.push_back(found == file.tensors.end() ? nullptr : &*found);
    if (found == file.tensors.end() && is_count) continue;
    if (found == file.tensors.end()) another_network("it has no tensor '" + t.name + "'");
    if (found->shape != t.shape)
      another_network("tensor '" + t.name + "' has shape " + detail::shape_text(found->shape) +
                      ", this network's is " + detail::shape_text(t.shape));
    const dtype expected = is_count ? dtype::i64 : dtype::f32;
    if (found->type() != expected)
      throw checkpoint_error(path, "tensor '" + t.name + "' is " + std::string(dtype_name(found->type())) +
                                       ", this network's is " + std::string(dtype_name(expected)));
    std::visit([&](const auto& stored) { require_finite(path, t.name, stored); }, found->data);
  }
  for (const stored_tensor& t : file.tensors)
    if (could_be_state_dict_key(t.name) && std::ranges::find(slots, t.name, &tensor_slot::name) == slots.end())
      another_network("it has a tensor '" + t.name + "', which this network has not");
  const auto stored_signature = file.metadata.find("typenet.network");
  if (stored_signature != file.metadata.end() && stored_signature->second != signature)
    another_network(stored_signature->second);

  for (std::size_t i = 0; i < slots.size(); ++i)
    std::visit([&](auto into) {
      using scalar = typename decltype(into)::element_type;
      if (sources[i]) std::ranges::copy(std::get<std::vector<scalar>>(sources[i]->data), into.begin());
      else std::ranges::fill(into, scalar{0});  // as PyTorch reads a state_dict without num_batches_tracked
    }, slots[i].values);
  return file.metadata;
}

}  // namespace

void save_weights(const std::filesystem::path& path, trainable& m, std::map<std::string, std::string> metadata) {
  metadata["format"] = "pt";  // what safetensors.torch.save_file records
  metadata["typenet.network"] = m.description().signature;
  save_safetensors(path, state_dict_views(m), metadata);
}

std::map<std::string, std::string> load_weights(const std::filesystem::path& path, trainable& m) {
  return load_state_dict(load_safetensors(path), m);
}

void save_checkpoint(const std::filesystem::path& path, trainable& m, std::span<const double> optimizer_state,
                     std::map<std::string, std::string> metadata) {
  std::vector<tensor_view> tensors = state_dict_views(m);
  tensors.push_back({std::string(optimizer_state_name), {optimizer_state.size()}, optimizer_state});
  metadata["typenet.network"] = m.description().signature;
  save_safetensors(path, tensors, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, trainable& m,
                                                   std::vector<double>& optimizer_state) {
  const safetensors_file file = load_safetensors(path);
  auto metadata = load_state_dict(file, m);
  const auto state = std::ranges::find(file.tensors, optimizer_state_name, &stored_tensor::name);
  if (state != file.tensors.end()) {
    const std::span<const double> stored = file.values<double>(state->name, state->shape);
    require_finite(path, state->name, stored);
    optimizer_state.assign(stored.begin(), stored.end());
  }
  return metadata;
}

}  // namespace typenet

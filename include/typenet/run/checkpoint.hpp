#pragma once
// A trainable's tensors in safetensors, in two files:
// - weights (model.safetensors): exactly PyTorch's state_dict of the equivalent
//   nn.Sequential ("4.weight", "5.running_mean", "5.num_batches_tracked" as I64),
//   which torch's load_state_dict(strict=True) accepts; load_weights reads such
//   a file back, from typenet or from PyTorch;
// - a checkpoint (last.safetensors): the same tensors plus the optimizer's state
//   and the training progress, so that a resumed run continues bit-identically.
// Both are written atomically.
//
//   typenet::save_weights(dir / "model.safetensors", model, {});
//   typenet::load_weights("pytorch.safetensors", model);            // to evaluate or fine-tune it
//   typenet::save_checkpoint(dir / "last.safetensors", model, optimizer.state, {{"epoch", "3"}});
//   auto metadata = typenet::load_checkpoint(path, model, optimizer.state);  // refuses another network
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "typenet/io/safetensors.hpp"  // checkpoint_error, which every refusal throws
#include "typenet/run/trainable.hpp"

namespace typenet {

// A PyTorch state_dict key joins non-empty module and parameter names with dots,
// so a name with an empty part, as this one's first, is never a state_dict's:
// a checkpoint's own tensors cannot clash with a network's, and load_weights
// passes over them.
inline constexpr std::string_view optimizer_state_name = ".optimizer.state";

void save_weights(const std::filesystem::path& path, trainable& m, std::map<std::string, std::string> metadata);

// Loads m's state_dict from `path` as load_state_dict(strict=True) would: every
// tensor of m, of its dtype and shape (a missing num_batches_tracked reads as 0,
// as PyTorch reads an unversioned state_dict), and no other state_dict key; any
// difference, or a NaN or an infinity, is refused naming the file and the tensor.
// Returns the metadata.
std::map<std::string, std::string> load_weights(const std::filesystem::path& path, trainable& m);

void save_checkpoint(const std::filesystem::path& path, trainable& m, std::span<const double> optimizer_state,
                     std::map<std::string, std::string> metadata);

// load_weights, and the optimizer state (which stays as it was if the file has
// none); returns the metadata.
std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, trainable& m,
                                                   std::vector<double>& optimizer_state);

}  // namespace typenet

#pragma once
// Checkpoints of a trainable in safetensors: one tensor per layer parameter and
// buffer, named as PyTorch's nn.Sequential names them ("4.weight",
// "5.running_mean"), so torch (safetensors.torch.load_file) can read the weights
// of the same network; plus the optimizer's state and the training progress, so
// that a resumed run continues bit-identically. Written atomically.
//
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

void save_checkpoint(const std::filesystem::path& path, trainable& m, std::span<const double> optimizer_state,
                     std::map<std::string, std::string> metadata);

// Loads weights, buffers and optimizer state into m (the state stays as it was
// if the file has none); returns the metadata. A checkpoint of another network
// is refused, naming the first tensor that differs, and so is one holding a NaN
// or an infinity.
std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, trainable& m,
                                                   std::vector<double>& optimizer_state);

}  // namespace typenet

#pragma once
// ONNX export: a trainable's network, with its trained weights and batch-norm
// running statistics, as an ONNX model (opset 13) for inference elsewhere
// (onnxruntime, OpenCV's DNN module, PyTorch's onnx2torch). Each layer becomes
// its standard operator (conv: Conv, depthwise_conv: Conv with group = channels, dense: Gemm with transB = 1, batch_norm:
// BatchNormalization, pools: MaxPool, AveragePool, GlobalAveragePool, ...);
// dropout vanishes, as at inference. Initializers are named as the checkpoint
// names its tensors ("0.weight", "1.running_mean").
//
// The model takes a float NCHW batch named "input" of any size (the batch
// dimension is symbolic, "N") and gives "output", [N, outputs]. Its input is
// normalised as the run normalised its data: pixel = (pixel - mean) / std, with
// the mean and std that the model records in its metadata ("data_mean",
// "data_std") when they are given.
//
//   std::unique_ptr<typenet::trainable> m = typenet::trainable_network_of<my_net>().make(1);
//   std::vector<double> ignored;
//   auto metadata = typenet::load_checkpoint("runs/mine/best.safetensors", *m, ignored);
//   typenet::export_onnx("mine.onnx", *m, typenet::pixel_moments{std::stod(metadata.at("data_mean")),
//                                                                 std::stod(metadata.at("data_std"))});
//
// The trainer does the same with --export-onnx FILE (after training, or with --evaluate).
#include <filesystem>
#include <optional>

#include "typenet/data/dataset.hpp"
#include "typenet/io/file_error.hpp"
#include "typenet/run/trainable.hpp"

namespace typenet {

// A network that ONNX export cannot write (a layer it knows no operator for), or a
// write that failed; the message names the file, and the layer.
class onnx_export_error : public file_error {
 public:
  using file_error::file_error;
};

// Writes `path` atomically (io/atomic_write.hpp); throws onnx_export_error.
void export_onnx(const std::filesystem::path& path, trainable& m, std::optional<pixel_moments> normalisation);

}  // namespace typenet

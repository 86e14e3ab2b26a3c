#pragma once
// Checkpoints in Hugging Face's safetensors format, laid out by its reference
// writer's rules: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__":{"epoch":"3"},"conv1.weight":{"dtype":"F32","shape":[16,1,3,3],"data_offsets":[0,576]}}
// padded with spaces to a multiple of 8, then the tensors' little-endian bytes,
// back to back, 8-byte tensors (F64, I64) before 4-byte ones (F32) and in the
// order given otherwise, so that every tensor starts at a multiple of its
// element size (the header lists them in the same order). F32 (training), F64
// (optimizer state, gradient checks), I64 (PyTorch's num_batches_tracked).
//
//   std::vector<float> w(16 * 9), b(16);
//   typenet::save_safetensors("ckpt/last.safetensors",
//       std::vector<typenet::tensor_view>{{"conv1.weight", {16, 1, 3, 3}, w}, {"conv1.bias", {16}, b}},
//       {{"epoch", "3"}});
//   auto file = typenet::load_safetensors("ckpt/last.safetensors");
//   std::span<const float> weights = file.values<float>("conv1.weight", {16, 1, 3, 3});
//
// Saving is atomic (see atomic_write.hpp). Loading checks every number in the
// file before using it; any problem is a checkpoint_error naming the file.
// The JSON is read and written by nlohmann-json (src/io/safetensors.cpp).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "typenet/io/file_error.hpp"

namespace typenet {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this code copies it without byte swapping");

class checkpoint_error : public file_error {
public:
  using file_error::file_error;
};

// In the order of the alternatives of tensor_view::data and stored_tensor::data.
enum class dtype { f32, f64, i64 };

namespace detail {

// As the header writes it: [16,1,3,3].
std::string shape_text(std::span<const std::size_t> shape);

}  // namespace detail

constexpr std::string_view dtype_name(dtype type) {
  return type == dtype::f32 ? "F32" : type == dtype::f64 ? "F64" : "I64";
}
constexpr std::size_t dtype_size(dtype type) { return type == dtype::f32 ? 4 : 8; }
template <class Scalar>
constexpr dtype dtype_of = std::is_same_v<Scalar, float> ? dtype::f32 : std::is_same_v<Scalar, double> ? dtype::f64 : dtype::i64;

// A tensor to save; `data` is borrowed and must outlive the call.
struct tensor_view {
  std::string name;
  std::vector<std::size_t> shape;
  std::variant<std::span<const float>, std::span<const double>, std::span<const std::int64_t>> data;

  dtype type() const { return static_cast<dtype>(data.index()); }
};

// A tensor as loaded, owning its values.
struct stored_tensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::variant<std::vector<float>, std::vector<double>, std::vector<std::int64_t>> data;

  dtype type() const { return static_cast<dtype>(data.index()); }
};

struct safetensors_file {
  std::filesystem::path path;
  std::map<std::string, std::string> metadata;
  std::vector<stored_tensor> tensors;  // in the order of their bytes in the file

  const stored_tensor& at(std::string_view name) const;

  // The values of `name`, checked to be of type Scalar and of `expected_shape`.
  template <class Scalar>
  std::span<const Scalar> values(std::string_view name, const std::vector<std::size_t>& expected_shape) const {
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double> || std::is_same_v<Scalar, std::int64_t>);
    const stored_tensor& tensor = checked(name, dtype_of<Scalar>, expected_shape);
    return std::get<std::vector<Scalar>>(tensor.data);
  }

private:
  const stored_tensor& checked(std::string_view name, dtype type, const std::vector<std::size_t>& shape) const;
};

// Throws checkpoint_error naming `path` on invalid tensors or any write failure.
void save_safetensors(const std::filesystem::path& path, std::span<const tensor_view> tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Throws checkpoint_error naming `path` on anything but a well-formed file.
safetensors_file load_safetensors(const std::filesystem::path& path);

}  // namespace typenet

// libFuzzer harness: load_safetensors on any bytes. It must either return
// tensors that each hold as many values as their shape says, or throw
// checkpoint_error naming the file; anything else (another exception, a crash,
// a leak, an allocation beyond the file's size) is a finding.
#include <cstdint>
#include <functional>
#include <numeric>
#include <variant>

#include <typenet/io/safetensors.hpp>

#include "memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static memory_file file;
  const std::filesystem::path& path = file.hold(data, size);
  try {
    const typenet::safetensors_file loaded = typenet::load_safetensors(path);
    for (const typenet::stored_tensor& tensor : loaded.tensors) {
      const std::size_t values = std::reduce(tensor.shape.begin(), tensor.shape.end(), std::size_t{1}, std::multiplies{});
      if (std::visit([](const auto& v) { return v.size(); }, tensor.data) != values) std::abort();
    }
  } catch (const typenet::checkpoint_error& error) {
    if (!std::string_view(error.what()).starts_with(path.string() + ": ")) std::abort();
  }
  return 0;
}

// libFuzzer harness: load_checkpoint of any bytes into the reference network
// (examples/ref11k.hpp), which also checks each tensor's name and shape and the
// network's signature. It must either load or throw checkpoint_error naming the
// file; anything else is a finding.
#include <cstdint>
#include <vector>

#include <typenet/run/checkpoint.hpp>
#include <typenet/run/model_trainable.hpp>

#include "../../examples/ref11k.hpp"
#include "memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static memory_file file;
  static typenet::model_trainable<examples::ref11k> network(1);
  const std::filesystem::path& path = file.hold(data, size);
  std::vector<double> optimizer_state;
  try {
    typenet::load_checkpoint(path, network, optimizer_state);
  } catch (const typenet::checkpoint_error& error) {
    if (!std::string_view(error.what()).starts_with(path.string() + ": ")) std::abort();
  }
  return 0;
}

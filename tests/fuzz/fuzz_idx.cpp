// libFuzzer harness: read_idx on any bytes, raw or gzip-compressed, as labels
// (rank 1) and as images (rank 3). It must either return an array whose shape
// matches its rank and its number of values, or throw data_error naming the
// file; anything else (another exception, a crash, a leak, an allocation far
// beyond what the input decompresses to) is a finding.
#include <cstdint>
#include <functional>
#include <numeric>

#include <typenet/data/idx.hpp>

#include "memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static memory_file file;
  const std::filesystem::path& path = file.hold(data, size);
  for (const std::size_t rank : {1, 3}) {
    try {
      const typenet::idx_array array = typenet::read_idx(path, rank);
      const std::size_t values = std::reduce(array.shape.begin(), array.shape.end(), std::size_t{1}, std::multiplies{});
      if (array.shape.size() != rank || array.values.size() != values) std::abort();
    } catch (const typenet::data_error& error) {
      if (!std::string_view(error.what()).starts_with(path.string() + ": ")) std::abort();
    }
  }
  return 0;
}

#pragma once
// data_error: a data set that cannot be found or read as the library expects
// (a missing file, a wrong magic number, truncated or corrupt data). Its
// message starts with the path concerned, so the user knows where to look
// before reading what is wrong.
//
//   try { auto train = typenet::load_idx_dataset("data/mnist", "train"); }
//   catch (const typenet::data_error& e) {
//     std::cerr << e.what() << '\n';   // "data/mnist/train-images-idx3-ubyte.gz: truncated: ..."
//   }
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace typenet {

class data_error : public std::runtime_error {
public:
  data_error(const std::filesystem::path& path, std::string_view problem)
      : std::runtime_error(path.string() + ": " + std::string(problem)), path_(path) {}

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace typenet

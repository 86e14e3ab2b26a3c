#pragma once
// file_error: a file that cannot be read or written as the library expects.
// Its message always starts with the file's path, so the user knows which
// file to look at before reading what is wrong with it.
//
//   try { typenet::write_png("out/grid.png", pixels, 28, 28); }
//   catch (const typenet::file_error& e) {
//     std::cerr << e.what() << '\n';
//     // out/grid.png: cannot create out/grid.png.tmp-4242: No such file or directory (...)
//   }
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace typenet {

class file_error : public std::runtime_error {
public:
  file_error(const std::filesystem::path& path, std::string_view problem)
      : std::runtime_error(path.string() + ": " + std::string(problem)), path_(path) {}

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace typenet

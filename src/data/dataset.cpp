#include "typenet/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "typenet/data/idx.hpp"

namespace typenet {

namespace {

// `dir/name.gz` if present, else `dir/name`, else nothing.
std::optional<std::filesystem::path> find_idx_file(const std::filesystem::path& dir,
                                                          std::string_view name) {
  std::error_code ignored;
  for (auto file : {dir / (std::string(name) + ".gz"), dir / name})
    if (std::filesystem::exists(file, ignored)) return file;
  return std::nullopt;
}

std::filesystem::path require_idx_file(const std::filesystem::path& dir,
                                              std::string_view name) {
  if (auto file = find_idx_file(dir, name)) return *file;
  throw data_error(dir / (std::string(name) + ".gz"),
                   "not found (nor the uncompressed " + std::string(name) + ")");
}

// The files of idx_dataset_files that `dir` lacks, joined for a message; empty when it has all four.
std::string missing_idx_files(const std::filesystem::path& dir) {
  std::string missing;
  for (auto name : idx_dataset_files)
    if (!find_idx_file(dir, name)) missing.append(missing.empty() ? "" : ", ").append(name).append(".gz");
  return missing;
}

std::string idx_files_needed() {
  std::string needed = "A data directory holds the four files";
  for (auto name : idx_dataset_files) needed.append(" ").append(name).append(".gz");
  return needed + " (gzip-compressed or not). To get them: download MNIST's four .gz files"
                  " into data/mnist/ (scripts/download-mnist does), or pass --data DIR, or set TYPENET_DATA=DIR. For"
                  " Fashion-MNIST: apt-get install dataset-fashion-mnist, then"
                  " --data /usr/share/datasets/fashion-mnist.";
}

// A directory the user named must qualify: it is an error to fall through to another.
std::filesystem::path require_data_dir(const std::filesystem::path& dir,
                                              std::string_view named_by) {
  std::error_code ignored;
  if (!std::filesystem::is_directory(dir, ignored))
    throw data_error(dir, "given by " + std::string(named_by) + ", is not a directory. " +
                              idx_files_needed());
  if (auto missing = missing_idx_files(dir); !missing.empty())
    throw data_error(dir, "given by " + std::string(named_by) + ", lacks " + missing + ". " +
                              idx_files_needed());
  return dir;
}

}  // namespace

dataset load_idx_dataset(const std::filesystem::path& dir, std::string_view prefix,
                         std::optional<dynamic_shape> expected, std::size_t most_classes) {
  idx_file images(require_idx_file(dir, std::string(prefix) + "-images-idx3-ubyte"), 3);
  dataset data;
  data.count = images.shape()[0];
  data.image = {1, images.shape()[1], images.shape()[2]};
  if (expected && *expected != data.image)
    throw data_error(images.path(), "holds " + images.describe() + " but the network's input is " +
                                        expected->text());
  idx_file labels(require_idx_file(dir, std::string(prefix) + "-labels-idx1-ubyte"), 1);
  if (labels.shape()[0] != data.count)
    throw data_error(images.path(), "holds " + std::to_string(data.count) + " images but " + labels.path().string() +
                                        " holds " + std::to_string(labels.shape()[0]) + " labels");

  data.labels = labels.read_values();
  const auto out_of_range = std::ranges::find_if(data.labels, [&](std::uint8_t label) { return label >= most_classes; });
  if (out_of_range != data.labels.end())
    throw data_error(labels.path(), "label " + std::to_string(*out_of_range) + " of image " +
                                        std::to_string(out_of_range - data.labels.begin()) +
                                        " is out of range: the network has " + std::to_string(most_classes) +
                                        " outputs (classes 0.." + std::to_string(most_classes - 1) + ")");
  data.classes = data.labels.empty() ? 0 : std::size_t{*std::ranges::max_element(data.labels)} + 1;
  data.pixels = images.read_values();
  return data;
}

// The directory holding the four IDX files: the command line's path, else
// $TYPENET_DATA, else the first of `fallbacks` that holds all four. A path from
// the command line or the environment must qualify; otherwise the error lists
// every place looked and how to get the files.
std::filesystem::path find_data_dir(const std::optional<std::string>& from_command_line,
                                    const std::vector<std::filesystem::path>& fallbacks) {
  if (from_command_line) return require_data_dir(*from_command_line, "--data");
  if (const char* from_environment = std::getenv("TYPENET_DATA");
      from_environment != nullptr && *from_environment != '\0')
    return require_data_dir(from_environment, "TYPENET_DATA");

  std::string looked = "no data directory found. Looked at: --data (not given); TYPENET_DATA (not set)";
  for (const std::filesystem::path& dir : fallbacks) {
    std::error_code ignored;
    looked += "; " + dir.string() + " (" + std::filesystem::absolute(dir, ignored).lexically_normal().string() + "): ";
    if (!std::filesystem::is_directory(dir, ignored)) {
      looked += "no such directory";
    } else if (auto missing = missing_idx_files(dir); !missing.empty()) {
      looked += "lacks " + missing;
    } else {
      return dir;
    }
  }
  throw data_error(std::filesystem::current_path(), looked + ". " + idx_files_needed());
}

pixel_moments pixel_statistics(const dataset& data) {
  double sum = 0, sum_of_squares = 0;
  for (const std::uint8_t byte : data.pixels) {
    const float pixel = static_cast<float>(byte) / 255.0f;  // as ToTensor gives it
    sum += pixel;
    sum_of_squares += static_cast<double>(pixel) * pixel;
  }
  const auto n = static_cast<double>(data.pixels.size());
  const double mean = sum / n;
  return {mean, std::sqrt(std::max(0.0, sum_of_squares / n - mean * mean))};
}

}  // namespace typenet

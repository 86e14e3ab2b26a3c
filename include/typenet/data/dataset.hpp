#pragma once
// dataset: an image classification data set in memory, loaded from the four
// IDX files of MNIST or Fashion-MNIST, with the search for where those files
// live and the pixel statistics used to normalise them. Images stay the bytes
// the files hold; a pixel_normalisation gives each byte's float where one is
// needed. The number of classes comes from the labels.
//
//   auto dir = typenet::find_data_dir(data_option);   // --data, $TYPENET_DATA, ./data/mnist, ...
//   typenet::dataset train = typenet::load_idx_dataset(dir, "train");
//   typenet::dataset test = typenet::load_idx_dataset(dir, "t10k");
//   const typenet::pixel_normalisation normalised(typenet::pixel_statistics(train));   // 0.1307, 0.3081 for MNIST
//   normalised.convert(test.image_bytes(i), floats.data());   // with the training set's statistics
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/data/data_error.hpp"
#include "typenet/data/pixel_normalisation.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

struct dataset {
  std::size_t count = 0;
  dynamic_shape image;        // of each image
  std::vector<std::uint8_t> pixels;  // count images, sample-major, 0 black .. 255 white as in the file
  std::vector<std::uint8_t> labels;  // count, each below classes
  std::size_t classes = 0;    // one more than the largest label

  std::span<const std::uint8_t> image_bytes(std::size_t i) const {
    return std::span(pixels).subspan(i * image.size(), image.size());
  }
};

// The four files a data directory must hold, each gzip-compressed (`.gz`) or not.
inline constexpr std::array<std::string_view, 4> idx_dataset_files = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte"};

// Loads `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` from `dir`
// (".gz" preferred); prefix is "train" or "t10k". Both headers are read and
// checked first (against `expected`, the input a network takes, when given, and
// against each other), so that a wrong file is refused before its body is read.
// A label of `most_classes` or more (a network's outputs) is refused, naming the image.
dataset load_idx_dataset(const std::filesystem::path& dir, std::string_view prefix,
                         std::optional<dynamic_shape> expected = std::nullopt, std::size_t most_classes = 256);

// Where a trainer looks when neither --data nor $TYPENET_DATA names a directory:
// ./data/mnist, ./data, and the MNIST copy the project carries
// (TYPENET_BUNDLED_DATA_DIR, set for trainers built in the tree or against the
// installed package). Inline: it is built where the trainer is, with its definition.
inline std::vector<std::filesystem::path> default_data_dirs() {
  std::vector<std::filesystem::path> dirs = {"./data/mnist", "./data"};
#ifdef TYPENET_BUNDLED_DATA_DIR
  dirs.emplace_back(TYPENET_BUNDLED_DATA_DIR);
#endif
  return dirs;
}

// The directory holding the four IDX files: the command line's path, else
// $TYPENET_DATA, else the first of `fallbacks` that holds all four. A path from
// the command line or the environment must qualify; otherwise the error lists
// every place looked and how to get the files.
std::filesystem::path find_data_dir(const std::optional<std::string>& from_command_line,
                                    const std::vector<std::filesystem::path>& fallbacks = default_data_dirs());

// Mean and (population) standard deviation over every pixel of every image, in [0, 1].
pixel_moments pixel_statistics(const dataset& data);

}  // namespace typenet

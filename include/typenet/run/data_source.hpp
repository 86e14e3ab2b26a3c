#pragma once
// data_source: where a run's labelled images come from, a training set and a
// test set. The images must have the network's input geometry; the labels say
// how many classes there are. IDX directories (MNIST, Fashion-MNIST) are one
// source; another data set is another class.
//
//   typenet::idx_directory mnist(typenet::find_data_dir(std::nullopt));
//   typenet::dataset train = mnist.training_set({1, 28, 28}, 10);
#include <cstddef>
#include <filesystem>
#include <string>

#include "typenet/data/dataset.hpp"
#include "typenet/core/shape.hpp"

namespace typenet {

class data_source {
 public:
  virtual ~data_source() = default;
  // Where the data come from, for what the trainer prints.
  virtual std::string name() const = 0;
  // Each set's images must be `input`, its labels below `classes_at_most` (the
  // network's outputs); a source refuses other data, naming what is wrong.
  virtual dataset training_set(dynamic_shape input, std::size_t classes_at_most) = 0;
  virtual dataset test_set(dynamic_shape input, std::size_t classes_at_most) = 0;
};

// The four IDX files of a directory: train-* for training, t10k-* for testing.
class idx_directory final : public data_source {
 public:
  explicit idx_directory(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::string name() const override { return dir_.string(); }
  dataset training_set(dynamic_shape input, std::size_t classes_at_most) override {
    return load_idx_dataset(dir_, "train", input, classes_at_most);
  }
  dataset test_set(dynamic_shape input, std::size_t classes_at_most) override {
    return load_idx_dataset(dir_, "t10k", input, classes_at_most);
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace typenet

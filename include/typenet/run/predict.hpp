#pragma once
// Classifying images with a trained network, in the run library: the class
// probabilities of a network's outputs, its most probable classes, the weights a
// checkpoint holds with the normalisation they were trained on, and the
// trainer's --predict.
//
//   const auto m = typenet::trainable_network_of<my_net>().make(256);
//   const typenet::pixel_moments moments = typenet::load_trained_weights("runs/x/last.safetensors", *m);
//   // images normalised with moments, then m->evaluate(...).outputs, then for each image:
//   auto top = typenet::top_classes(typenet::output_probabilities(m->description(), outputs), 3);
//
// (predictor.hpp wraps this for a network type, with a single-sample model for one image.)
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "typenet/data/dataset.hpp"
#include "typenet/run/recipe.hpp"
#include "typenet/run/trainable.hpp"

namespace typenet {

struct class_score {
  std::size_t label;
  float probability;
};

// The class probabilities of one sample's outputs: as they are after softmax,
// exponentiated after log_softmax, and the softmax of them otherwise (logits).
std::vector<float> output_probabilities(const network_description& network, std::span<const float> outputs);

// The k most probable classes, most probable first (of equal ones, the lower label).
std::vector<class_score> top_classes(std::span<const float> probabilities, std::size_t k);

// Loads a checkpoint's or a model.safetensors' weights and running statistics into m
// (load_weights) and returns the normalisation of the data they were trained on. A file
// that records none (PyTorch's) is refused: images could not be normalised as the
// network expects.
pixel_moments load_trained_weights(const std::filesystem::path& weights, trainable& m);

// The trainer's --predict: reads and converts every image first (one that cannot be
// read is refused before anything is printed), then prints one line per image with
// its o.top most probable classes, or with o.json one JSON document.
void predict(const trainable_network& network, const run_options& o, const std::filesystem::path& weights,
             std::span<const std::string> images);

}  // namespace typenet

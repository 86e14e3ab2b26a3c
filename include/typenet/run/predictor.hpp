#pragma once
// predictor<Net>: a trained network of a known type, for classifying images in a
// program of one's own. One image runs on a single-sample model (kernels
// vectorised over pixels: the lowest latency), a batch on a batched one; both
// give the same numbers. Pixels are as read, in [0, 1] (read_image_file gives
// them), and are normalised as the network's training data were.
//
//   typenet::predictor<examples::ref11k> p("runs/mnist/last.safetensors");
//   auto digit = typenet::read_image_file("seven.png", p.input());
//   std::array<float, 10> probabilities = p.predict(digit.pixels);
//   std::vector<float> many = p.predict(images, count);   // count x 10, sample-major
#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/data/dataset.hpp"
#include "typenet/engine/model.hpp"
#include "typenet/learn/loss.hpp"
#include "typenet/run/model_trainable.hpp"
#include "typenet/run/predict.hpp"

namespace typenet {

template <class Net>
class predictor {
 public:
  static constexpr std::size_t classes = Net::output_size;

  // Loads `weights` (a checkpoint); batches run up to `max_batch` images at a time.
  explicit predictor(const std::filesystem::path& weights, std::size_t max_batch = 256)
      : batched_(max_batch), single_(1), moments_(load_trained_weights(weights, batched_)) {
    single_.set_parameters(batched_.parameters());  // lends single_'s none: no check per image
    std::ranges::copy(batched_.buffers(), single_.buffers().begin());
  }

  dynamic_shape input() const { return Net::input_shape::value; }
  const pixel_moments& normalisation() const { return moments_; }

  // Class probabilities of one image.
  std::array<float, classes> predict(std::span<const float> image) {
    require(image.size(), 1);
    std::vector<float> x(image.begin(), image.end());
    normalise(x, moments_.mean, moments_.std);
    const auto p = output_probabilities(description_of<Net>(), single_.forward(x, 1, mode::eval));
    std::array<float, classes> out;
    std::ranges::copy(p, out.begin());
    return out;
  }

  // Class probabilities of `count` images (sample-major), `classes` per image.
  std::vector<float> predict(std::span<const float> images, std::size_t count) {
    require(images.size(), count);
    std::vector<float> x(images.begin(), images.begin() + count * Net::input_size);
    normalise(x, moments_.mean, moments_.std);
    const auto outputs = batched_.engine().template evaluate<nll_loss>(x, std::vector<float>(count), count).outputs;
    std::vector<float> p;
    for (std::size_t s = 0; s < count; ++s) {
      const auto one = output_probabilities(description_of<Net>(), std::span(outputs).subspan(s * classes, classes));
      p.insert(p.end(), one.begin(), one.end());
    }
    return p;
  }

 private:
  static void require(std::size_t values, std::size_t count) {
    if (values < count * Net::input_size)
      throw std::invalid_argument("typenet::predictor: " + std::to_string(count) + " images of " +
                                  Net::input_shape::value.text() + " need " + std::to_string(count * Net::input_size) +
                                  " values, got " + std::to_string(values));
  }

  model_trainable<Net> batched_;
  single_sample_model<Net> single_;
  pixel_moments moments_;
};

}  // namespace typenet

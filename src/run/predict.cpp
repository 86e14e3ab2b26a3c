#include "typenet/run/predict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "run_state.hpp"
#include "typenet/io/image_file.hpp"
#include "typenet/run/checkpoint.hpp"

namespace typenet {

std::vector<float> output_probabilities(const network_description& network, std::span<const float> outputs) {
  const std::string_view last = network.layers.empty() ? std::string_view{} : network.layers.back().name;
  std::vector<float> p(outputs.begin(), outputs.end());
  if (last == "softmax") return p;
  if (last == "log_softmax") {
    for (float& v : p) v = std::exp(v);
    return p;
  }
  const float top = p.empty() ? 0.0f : *std::ranges::max_element(p);  // exp of the largest is 1: no overflow
  double total = 0;
  for (float& v : p) total += v = std::exp(v - top);
  for (float& v : p) v = static_cast<float>(v / total);
  return p;
}

std::vector<class_score> top_classes(std::span<const float> probabilities, std::size_t k) {
  std::vector<std::size_t> order(probabilities.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  k = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](std::size_t a, std::size_t b) {
                      return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
                    });
  std::vector<class_score> top;
  for (std::size_t i = 0; i < k; ++i) top.push_back({order[i], probabilities[order[i]]});
  return top;
}

pixel_moments load_trained_weights(const std::filesystem::path& weights, trainable& m) {
  const auto normalisation = read_normalisation(weights, load_weights(weights, m));
  if (!normalisation)
    throw checkpoint_error(weights, "records no normalisation of its training data (data_mean, data_std), as a "
                                    "typenet checkpoint or model.safetensors does: images cannot be normalised as "
                                    "the network expects");
  return *normalisation;
}

void predict(const trainable_network& network, const run_options& o, const std::filesystem::path& weights,
             std::span<const std::string> images) {
  const network_description& net = network.description;
  constexpr std::size_t batch = 256;
  const std::unique_ptr<trainable> m = network.make(batch);
  const pixel_moments moments = load_trained_weights(weights, *m);

  // Every file is read before anything is printed: a bad one stops the run with no half-written answer.
  std::vector<image_file> files;
  for (const std::string& path : images) {
    files.push_back(read_image_file(path, net.input, o.invert));
    std::vector<float>& p = files.back().pixels;
    if (!o.invert && std::reduce(p.begin(), p.end(), 0.0) > 0.5 * static_cast<double>(p.size()))
      std::fprintf(stderr, "note: %s is mostly light; if it is a dark digit on a light background (MNIST's are light "
                           "on dark), add --invert\n", path.c_str());
    normalise(p, moments.mean, moments.std);
  }

  nlohmann::json document = nlohmann::json::array();
  const std::size_t outputs = net.output_size, size = net.input.size();
  std::vector<float> pixels(batch * size), targets(batch);
  for (std::size_t first = 0; first < files.size(); first += batch) {
    const std::size_t n = std::min(batch, files.size() - first);
    for (std::size_t i = 0; i < n; ++i) std::ranges::copy(files[first + i].pixels, pixels.begin() + i * size);
    const auto result = m->evaluate(pixels, targets, n);  // the losses, against class 0, are not used
    for (std::size_t i = 0; i < n; ++i) {
      const image_file& file = files[first + i];
      const auto probabilities =
          output_probabilities(net, std::span<const float>(result.outputs).subspan(i * outputs, outputs));
      const auto top = top_classes(probabilities, o.top);
      if (o.json) {
        nlohmann::json classes = nlohmann::json::array();
        for (const class_score& c : top) classes.push_back({{"class", c.label}, {"probability", c.probability}});
        document.push_back({{"file", images[first + i]}, {"conversion", file.conversion}, {"top", classes}});
        continue;
      }
      std::printf("%s:", images[first + i].c_str());
      for (const class_score& c : top) std::printf("  %zu (%.2f%%)", c.label, 100.0 * c.probability);
      if (!file.conversion.empty()) std::printf("   [%s]", file.conversion.c_str());
      std::printf("\n");
    }
  }
  if (o.json) std::printf("%s\n", document.dump(2).c_str());
}

}  // namespace typenet

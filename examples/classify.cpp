// Classifies image files with a trained MNIST network, through the C++ inference
// API (typenet/run/predictor.hpp) rather than the trainer's --predict:
//
//   build/examples/mnist --epochs 20                # writes runs/mnist/last.safetensors
//   build/examples/classify runs/mnist/last.safetensors seven.png three.jpg
#include <cstdio>
#include <exception>

#include <typenet/io/image_file.hpp>
#include <typenet/run/predictor.hpp>

#include "mnist.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CHECKPOINT IMAGE...\n", argv[0]);
    return 1;
  }
  try {
    typenet::predictor<examples::mnist_net> net(argv[1]);
    for (int i = 2; i < argc; ++i) {
      const typenet::image_file image = typenet::read_image_file(argv[i], net.input());
      const auto probabilities = net.predict(image.pixels);  // one image: the single-sample model
      const typenet::class_score best = typenet::top_classes(probabilities, 1).front();
      std::printf("%s: %zu (%.1f%%)%s%s\n", argv[i], best.label, 100.0 * best.probability,
                  image.conversion.empty() ? "" : ", converted: ", image.conversion.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

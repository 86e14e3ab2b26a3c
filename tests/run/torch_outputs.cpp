// typenet's side of tests/run/test_torch.py: loads a state_dict into torch_net
// with load_weights, and writes the log-probabilities it gives every MNIST test
// image, normalised with the mean and std given, as safetensors.
//
//   torch_outputs model.safetensors data/mnist 0.1307 0.3081 outputs.safetensors
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <typenet/run.hpp>

#include "torch_net.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: torch_outputs WEIGHTS DATA_DIR MEAN STD OUT\n");
    return 1;
  }
  try {
    typenet::model_trainable<tests::torch_net> net(1000);
    typenet::load_weights(argv[1], net);
    typenet::dataset test = typenet::idx_directory(argv[2]).test_set(net.description().input, net.description().output_size);
    std::vector<float> images(test.pixels.size());
    typenet::pixel_normalisation({std::stod(argv[3]), std::stod(argv[4])}).convert(test.pixels, images.data());
    const std::vector<float> labels(test.labels.begin(), test.labels.end());
    const auto result = net.evaluate(images, labels, test.count);
    typenet::save_safetensors(argv[5], std::vector<typenet::tensor_view>{
                                           {"log_probs", {test.count, net.description().output_size}, result.outputs}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

// The main job: the MNIST trainer of examples/mnist.hpp's network. This is all a
// trainer takes; typenet_add_trainer() in CMake writes the same file for any
// network header.
#include <typenet/trainer_main.hpp>

#include "mnist.hpp"

int main(int argc, char** argv) {
  return typenet::trainer_main<examples::mnist_net>(argc, argv, examples::mnist_recipe(), "runs/mnist",
                                                    "Trains the course's MNIST network (> 99.4% in 20 epochs)");
}

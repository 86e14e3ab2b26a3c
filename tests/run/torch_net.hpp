#pragma once
// A small network with a layer of every kind PyTorch has an equivalent for, in
// the module order of the nn.Sequential that tests/run/test_torch.py builds
// (its state_dict keys are these indices). Trained briefly by torch_trainer.
#include <typenet/typenet.hpp>

namespace tests {
namespace tn = typenet;
using torch_net = tn::network<tn::input<1, 28, 28>,
    tn::conv<6, 3, 1, 1, tn::bias::on>, tn::batch_norm, tn::relu, tn::dropout<0.1>,  // 0-3: 6x28x28
    tn::max_pool<2>,                                                                 // 4: 6x14x14
    tn::depthwise_conv<3, 1, 1>,                                                     // 5: 6x14x14 (groups=6)
    tn::conv<8, 4, 2>, tn::batch_norm, tn::tanh,                                     // 6-8: 8x6x6
    tn::avg_pool<2>,                                                                 // 9: 8x3x3
    tn::flatten,                                                                     // 10: 72
    tn::dense<16, tn::bias::on>, tn::batch_norm, tn::sigmoid,                        // 11-13: 16 (BatchNorm1d)
    tn::dense<10>, tn::log_softmax>;                                                 // 14-15: 10
}  // namespace tests

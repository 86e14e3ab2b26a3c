#pragma once
// ref11k: the reference network of the course's class (11,312 parameters,
// receptive field 32), as a type.
#include <typenet/typenet.hpp>

namespace examples {
using namespace typenet;

using ref11k = network<input<1, 28, 28>,
    conv<16, 3>, batch_norm, relu, dropout<0.05>,        // 16x26x26
    conv<16, 3>, batch_norm, relu, dropout<0.05>,        // 16x24x24
    max_pool<2>,                                         // 16x12x12
    conv<10, 1>,                                         // 10x12x12 transition
    conv<16, 3>, batch_norm, relu, dropout<0.05>,        // 16x10x10
    conv<16, 3>, batch_norm, relu, dropout<0.05>,        // 16x8x8
    conv<16, 3>, batch_norm, relu, dropout<0.05>,        // 16x6x6
    conv<16, 3, 1, 1>, batch_norm, relu, dropout<0.05>,  // 16x6x6
    global_avg_pool, dense<10>, log_softmax>;

}  // namespace examples

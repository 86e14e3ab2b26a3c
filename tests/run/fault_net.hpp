#pragma once
// A network small enough that a whole trainer run takes a second or two: the
// fault tests (test_faults.cpp) run its trainer as a program many times.
#include <typenet/typenet.hpp>

namespace tests {
using fault_net = typenet::network<typenet::input<1, 28, 28>,
    typenet::conv<4, 3>, typenet::batch_norm, typenet::relu, typenet::max_pool<2>,  // 4x13x13
    typenet::conv<8, 3>, typenet::batch_norm, typenet::relu,                        // 8x11x11
    typenet::global_avg_pool, typenet::dense<10>, typenet::log_softmax>;
}  // namespace tests

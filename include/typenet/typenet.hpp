#pragma once
// typenet: neural networks as C++ types. Include this header for everything.
#include "typenet/net/network.hpp"
#include "typenet/net/rules.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/net/summary.hpp"

#include "typenet/layers/batch_norm.hpp"
#include "typenet/layers/conv.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/depthwise_conv.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/elementwise.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/layers/softmax.hpp"

#pragma once
// typenet: neural networks as C++ types. Include this header for everything.
#include "network.hpp"
#include "rules.hpp"
#include "shape.hpp"
#include "summary.hpp"

#include "layers/batch_norm.hpp"
#include "layers/conv.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/elementwise.hpp"
#include "layers/flatten.hpp"
#include "layers/pooling.hpp"
#include "layers/softmax.hpp"

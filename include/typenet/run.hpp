#pragma once
// The run half, compiled in typenet::run (link it): recipes and run options, the
// trainable interface and its adapter for a network type, data sources,
// checkpoints, ONNX export, the command line and the trainer with its epoch observers.
#include "typenet/run/checkpoint.hpp"
#include "typenet/run/command_line.hpp"
#include "typenet/run/data_source.hpp"
#include "typenet/run/model_trainable.hpp"
#include "typenet/run/onnx_export.hpp"
#include "typenet/run/processes.hpp"
#include "typenet/run/recipe.hpp"
#include "typenet/run/trainable.hpp"
#include "typenet/run/trainer.hpp"

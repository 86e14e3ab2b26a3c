#pragma once
// The run half, compiled in typenet::run (link it): recipes and run options, the
// trainable interface and its adapter for a network type, data sources,
// checkpoints, the command line and the trainer with its epoch observers.
#include "run/checkpoint.hpp"
#include "run/command_line.hpp"
#include "run/data_source.hpp"
#include "run/model_trainable.hpp"
#include "run/recipe.hpp"
#include "run/trainable.hpp"
#include "run/trainer.hpp"

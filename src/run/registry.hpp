#pragma once
// The optimizers and schedules a recipe can name, one table each: the command
// line takes its choices and help from them and the trainer its factories, so a
// new optimizer or schedule is one line here.
#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "typenet/learn/optimizer.hpp"
#include "typenet/learn/schedule.hpp"
#include "typenet/run/recipe.hpp"

namespace typenet::detail {

using any_optimizer = std::variant<sgd, adam, adamw>;
using any_schedule = std::variant<constant_schedule, step_schedule, one_cycle, cosine_schedule>;

struct optimizer_kind {
  std::string_view name;
  any_optimizer (*make)(const recipe&);
};

struct schedule_kind {
  std::string_view name;
  any_schedule (*make)(const recipe&, std::size_t steps_per_epoch);
};

inline constexpr std::array optimizers = {
    optimizer_kind{"sgd", [](const recipe& r) -> any_optimizer {
                     return sgd{.momentum = r.momentum, .nesterov = r.nesterov, .weight_decay = r.weight_decay};
                   }},
    optimizer_kind{"adam", [](const recipe& r) -> any_optimizer { return adam{.weight_decay = r.weight_decay}; }},
    optimizer_kind{"adamw", [](const recipe& r) -> any_optimizer { return adamw{.weight_decay = r.weight_decay}; }},
};

inline constexpr std::array schedules = {
    schedule_kind{"constant", [](const recipe& r, std::size_t) -> any_schedule { return constant_schedule{.lr = r.lr}; }},
    schedule_kind{"step", [](const recipe& r, std::size_t steps) -> any_schedule {
                    return step_schedule{.lr = r.lr, .step_size = r.step_epochs * steps, .gamma = r.step_gamma};
                  }},
    schedule_kind{"one-cycle", [](const recipe& r, std::size_t steps) -> any_schedule {
                    return one_cycle{.max_lr = r.lr, .total_steps = r.epochs * steps};
                  }},
    schedule_kind{"cosine", [](const recipe& r, std::size_t steps) -> any_schedule {
                    return cosine_schedule{.lr = r.lr, .total_steps = r.epochs * steps};
                  }},
};

template <class Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return names;
}

// The entry `name` names; what = "optimizer" or "schedule", for the message.
template <class Table>
const auto& entry_named(const Table& table, std::string_view name, std::string_view what) {
  const auto found = std::ranges::find(table, name, &Table::value_type::name);
  if (found == table.end()) {
    std::string known;
    for (const auto& entry : table) known.append(known.empty() ? "" : ", ").append(entry.name);
    throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(name) + "' (" + known + ")");
  }
  return *found;
}

inline any_optimizer make_optimizer(const recipe& r) { return entry_named(optimizers, r.optimizer, "optimizer").make(r); }

inline any_schedule make_schedule(const recipe& r, std::size_t steps_per_epoch) {
  return entry_named(schedules, r.schedule, "schedule").make(r, steps_per_epoch);
}

inline std::vector<double>& optimizer_state(any_optimizer& o) {
  return std::visit([](auto& opt) -> std::vector<double>& { return opt.state; }, o);
}

}  // namespace typenet::detail

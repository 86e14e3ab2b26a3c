#pragma once
// summary<Net>(): the network as a table, like Keras' model.summary() and
// torchsummary; every number in it is a compile-time constant of Net. The table
// is written from facts_of<Net> by one function for every network, so a program
// that only needs the text (the run library) compiles it once.
//
//   typenet::print_summary<net>(std::cout);
#include <cstdio>
#include <ostream>
#include <string>

#include "typenet/net/network.hpp"

namespace typenet {

namespace detail {
inline std::string grouped(std::size_t n) {  // 1905152 -> 1,905,152
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace detail

inline std::string summary(const network_facts& net) {
  std::string text;
  char line[512];
  const auto row = [&](const char* index, const std::string& name, const std::string& shape, const std::string& params,
                       const std::string& field, const std::string& jump, const std::string& macs) {
    std::snprintf(line, sizeof line, "%-4s %-16s %-12s %10s %6s %5s %12s\n", index, name.c_str(), shape.c_str(),
                  params.c_str(), field.c_str(), jump.c_str(), macs.c_str());
    text += line;
  };
  const std::string rule(71, '-');
  row("#", "layer", "output", "params", "RF", "jump", "mult-adds");
  text += rule + "\n";
  row("", "input", net.input.text(), "", "1", "1", "");
  for (std::size_t i = 0; i < net.layers.size(); ++i) {
    const layer_facts& l = net.layers[i];
    row(std::to_string(i).c_str(), std::string(l.name), l.output_shape.text(), detail::grouped(l.parameter_count),
        std::to_string(l.receptive_field), std::to_string(l.jump), detail::grouped(l.multiply_adds));
  }
  text += rule + "\n";
  std::snprintf(line, sizeof line,
                "parameters: %s trainable, %s buffers (batch-norm running statistics)\n"
                "receptive field: %zu pixels; multiply-adds per sample: %s\n"
                "activations per sample: %s scalars (%s KiB in float)\n",
                detail::grouped(net.parameter_count).c_str(), detail::grouped(net.buffer_count).c_str(),
                net.receptive_field, detail::grouped(net.multiply_adds).c_str(),
                detail::grouped(net.activation_size).c_str(), detail::grouped(net.activation_size * 4 / 1024).c_str());
  text += line;
  return text;
}

template <class Net>
std::string summary() {
  return summary(facts_of<Net>);
}

template <class Net>
void print_summary(std::ostream& out) {
  out << summary<Net>();
}

}  // namespace typenet

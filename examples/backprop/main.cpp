// The course's backpropagation spreadsheet, computed by typenet: every value of
// the 2-2-2 network, each gradient beside its closed form, then E_total over 100
// steps for six learning rates (CSV and PNG).
//
//   ./backprop [output-dir]     (default: backprop-output)
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <typenet/io/plot.hpp>

#include "backprop.hpp"

int main(int argc, char** argv) try {
  const std::filesystem::path out = argc > 1 ? argv[1] : "backprop-output";
  std::filesystem::create_directories(out);

  const backprop::worked_values v = backprop::work();
  const std::pair<const char*, double> values[] = {
      {"h1", v.h1},     {"h2", v.h2},     {"a_h1", v.a_h1}, {"a_h2", v.a_h2}, {"o1", v.o1},          {"o2", v.o2},
      {"a_o1", v.a_o1}, {"a_o2", v.a_o2}, {"E1", v.e1},     {"E2", v.e2},     {"E_total", v.e_total}};
  for (const auto& [name, value] : values) std::printf("%-9s %.12f\n", name, value);
  std::printf("\n%-9s %-15s %-15s\n", "", "library", "closed form");
  for (std::size_t i = 0; i < 8; ++i)
    std::printf("dE/dW%zu    %.12f  %.12f\n", i + 1, v.gradient[i], v.closed_form[i]);

  const auto csv = out / "error_by_learning_rate.csv";
  std::ofstream file(csv);
  file << "iteration,lr,E_total\n";
  std::printf("\n%-5s %-16s %-16s\n", "lr", "E_total start", "after 100 steps");
  for (double lr : backprop::learning_rates) {
    const std::vector<double> curve = backprop::error_curve(lr, 100);
    for (std::size_t i = 0; i < curve.size(); ++i) file << i << ',' << lr << ',' << curve[i] << '\n';
    std::printf("%-5.1f %.12f   %.12f\n", lr, curve.front(), curve.back());
  }
  file.close();
  if (!file) throw std::runtime_error(csv.string() + ": could not write");
  std::printf("\nwrote %s\n", csv.c_str());
  try {
    typenet::plot_series(csv, out / "error_by_learning_rate.png",
                         {.title = "E_total by learning rate", .x = "iteration", .y = "E_total", .group_by = "lr"});
    std::printf("wrote %s\n", (out / "error_by_learning_rate.png").c_str());
  } catch (const typenet::plot_error& e) {
    std::fprintf(stderr, "no plot: %s\n", e.what());
  }
} catch (const std::exception& e) {
  std::fprintf(stderr, "backprop: %s\n", e.what());
  return 1;
}

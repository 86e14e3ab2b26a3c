#pragma once
// Plots of CSV logs, drawn by gnuplot into PNGs. Each call writes a gnuplot
// script next to the PNG (curves.png -> curves.gp, so a plot can be restyled
// by editing it and running `gnuplot curves.gp`) and runs gnuplot on it;
// gnuplot reads the CSV itself, its columns by their header names. The CSV is
// only ever read.
//
//   // two panels, loss and accuracy by epoch, train and validation, from epoch_log's CSV
//   typenet::plot_training_curves("runs/mnist/log.csv", "runs/mnist/curves.png");
//
//   // one curve per learning rate from a long-format CSV "iteration,lr,E_total"
//   typenet::plot_series("backprop.csv", "backprop.png",
//                        {.title = "E_total by learning rate", .x = "iteration", .y = "E_total",
//                         .group_by = "lr", .log_y = true});
//
// Every failure, a missing gnuplot included, throws plot_error naming the file
// concerned, with gnuplot's own messages when it ran. Plots are optional
// output, so a trainer catches plot_error and reports it rather than stopping;
// find_gnuplot() tells in advance.
#include <filesystem>
#include <string>

#include "typenet/io/file_error.hpp"

namespace typenet {

class plot_error : public file_error {
public:
  using file_error::file_error;
};

// gnuplot's full path if it is an executable on PATH, else an empty path.
std::filesystem::path find_gnuplot();

struct series_plot {
  std::string title;
  std::string x;              // the column on the x axis
  std::string y;              // the column on the y axis
  std::string group_by = {};  // one curve per distinct value of this column; empty: a single curve
  std::string x_label = {};   // empty: the column's name
  std::string y_label = {};
  bool log_y = false;
};

// Draws `csv`, as written by epoch_log, into `png`: loss and accuracy by epoch.
void plot_training_curves(const std::filesystem::path& csv, const std::filesystem::path& png);

// Draws column `plot.y` against `plot.x` of `csv` into `png`, one curve per
// value of `plot.group_by`, in the order the values first appear.
void plot_series(const std::filesystem::path& csv, const std::filesystem::path& png, const series_plot& plot);

}  // namespace typenet

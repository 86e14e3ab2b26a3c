#pragma once
// Plots of CSV logs, drawn by gnuplot into PNGs. Each call writes a gnuplot
// script next to the PNG (curves.png -> curves.gp, so a plot can be restyled
// by editing it and running `gnuplot curves.gp`) and runs it. The CSV is only
// ever read.
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
// concerned. Plots are optional output, so a trainer catches plot_error and
// reports it rather than stopping; find_gnuplot() tells in advance.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "typenet/io/csv_log.hpp"
#include "typenet/io/file_error.hpp"

namespace typenet {

class plot_error : public file_error {
public:
  using file_error::file_error;
};

// gnuplot's full path if it is an executable on PATH, else an empty path.
inline std::filesystem::path find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::string_view directories = path ? path : "";
  while (!directories.empty()) {
    const std::size_t colon = directories.find(':');
    const std::string_view directory = directories.substr(0, colon);
    directories = colon == std::string_view::npos ? std::string_view{} : directories.substr(colon + 1);
    const auto candidate = std::filesystem::path(directory.empty() ? "." : directory) / "gnuplot";
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

struct series_plot {
  std::string title;
  std::string x;              // the column on the x axis
  std::string y;              // the column on the y axis
  std::string group_by = {};  // one curve per distinct value of this column; empty: a single curve
  std::string x_label = {};   // empty: the column's name
  std::string y_label = {};
  bool log_y = false;
};

namespace detail {

struct csv_table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  std::size_t column(const std::filesystem::path& csv, const std::string& name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    std::string known;
    for (const auto& c : columns) known += (known.empty() ? "" : ", ") + c;
    throw plot_error(csv, "has no column '" + name + "' (its columns: " + known + ")");
  }
};

inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// A plain numeric CSV (no quoting): a header line, then rows of as many
// fields, each a number; blank lines are skipped.
inline csv_table read_numeric_csv(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  if (!in) throw plot_error(csv, "cannot open for reading");
  csv_table table;
  std::string line;
  if (!std::getline(in, line)) throw plot_error(csv, "is empty, expected a header line");
  table.columns = split_csv_line(line);
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto fields = split_csv_line(line);
    if (fields.size() != table.columns.size())
      throw plot_error(csv, "line " + std::to_string(number) + " has " + std::to_string(fields.size()) +
                                " fields, the header " + std::to_string(table.columns.size()));
    for (const std::string& field : fields) {
      char* end = nullptr;
      errno = 0;
      std::strtod(field.c_str(), &end);
      if (field.empty() || *end != '\0' || errno == ERANGE)
        throw plot_error(csv, "line " + std::to_string(number) + ": '" + field + "' is not a number");
    }
    table.rows.push_back(std::move(fields));
  }
  if (table.rows.empty()) throw plot_error(csv, "has a header but no rows yet");
  return table;
}

// A gnuplot string literal: single quotes, a quote doubled; a line break
// would end the command, so it becomes a space.
inline std::string gnuplot_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("''") : std::string(1, c == '\n' ? ' ' : c);
  return out + "'";
}

inline std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Refuses outputs that are the CSV itself: a plot must never cost the log.
inline void check_outputs(const std::filesystem::path& csv, const std::filesystem::path& png,
                          std::initializer_list<std::filesystem::path> outputs) {
  std::error_code error;
  const auto log = std::filesystem::weakly_canonical(csv, error);
  for (const auto& output : outputs)
    if (std::filesystem::weakly_canonical(output, error) == log)
      throw plot_error(png, "refusing to write " + output.string() + ": it is the CSV being plotted");
}

inline void write_text(const std::filesystem::path& path, const std::filesystem::path& png, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out.flush()) throw plot_error(png, "cannot write " + path.string());
}

inline std::string png_terminal(const std::filesystem::path& png, int width, int height) {
  return "set terminal pngcairo size " + std::to_string(width) + "," + std::to_string(height) +
         " noenhanced font 'sans,11'\nset output " + gnuplot_quoted(png.string()) + "\n";
}

// Runs gnuplot on `script`, which draws `png`; gnuplot's own messages go into
// the error so that a bad plot explains itself.
inline void run_gnuplot(const std::filesystem::path& script, const std::filesystem::path& png,
                        const std::filesystem::path& csv) {
  const auto gnuplot = find_gnuplot();
  if (gnuplot.empty())
    throw plot_error(png, "cannot draw it: gnuplot was not found on PATH (install gnuplot-nox, then run `gnuplot " +
                              script.string() + "`); " + csv.string() + " is unchanged");
  std::error_code error;
  std::filesystem::remove(png, error);  // so that a stale picture cannot pass for a new one
  const std::string command = shell_quoted(gnuplot.string()) + " " + shell_quoted(script.string()) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw plot_error(png, "cannot start gnuplot");
  std::string output;
  char buffer[512];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0 || !std::filesystem::exists(png, error) || std::filesystem::file_size(png, error) == 0)
    throw plot_error(png, "gnuplot " + script.string() + " failed" +
                              (WIFEXITED(status) ? " with exit status " + std::to_string(WEXITSTATUS(status)) : "") +
                              (output.empty() ? std::string() : ":\n" + output));
}

}  // namespace detail

// Draws `csv`, as written by epoch_log, into `png`: loss and accuracy by epoch.
inline void plot_training_curves(const std::filesystem::path& csv, const std::filesystem::path& png) {
  const auto table = detail::read_numeric_csv(csv);
  std::string header;
  for (const auto& column : table.columns) header += (header.empty() ? "" : ",") + column;
  if (header != epoch_log::header)
    throw plot_error(csv, "has header \"" + header + "\", expected \"" + std::string(epoch_log::header) + "\"");
  auto script = png;
  script.replace_extension(".gp");
  detail::check_outputs(csv, png, {png, script});

  const std::string data = detail::gnuplot_quoted(csv.string()) + " skip 1 using 1:";
  const auto curves = [&](int train_column, int validation_column) {
    return "plot " + data + std::to_string(train_column) + " with linespoints pt 7 ps 0.6 lw 2 title 'train', \\\n     " +
           data + std::to_string(validation_column) + " with linespoints pt 7 ps 0.6 lw 2 title 'validation'\n";
  };
  detail::write_text(script, png,
                     detail::png_terminal(png, 1200, 450) +
                         "set datafile separator ','\n"
                         "set grid\n"
                         "set xlabel 'epoch'\n"
                         "set multiplot layout 1,2 title " + detail::gnuplot_quoted(csv.filename().string()) + "\n"
                         "set title 'loss'\nset ylabel 'loss'\nset key top right\n" +
                         curves(2, 4) +
                         "set title 'accuracy'\nset ylabel 'accuracy (%)'\nset key bottom right\n" +
                         curves(3, 5) + "unset multiplot\n");
  detail::run_gnuplot(script, png, csv);
}

// Draws column `plot.y` against `plot.x` of `csv` into `png`, one curve per
// value of `plot.group_by`, in the order the values first appear. The curves'
// data go to a gnuplot data file next to the PNG (curves.png -> curves.dat).
inline void plot_series(const std::filesystem::path& csv, const std::filesystem::path& png, const series_plot& plot) {
  const auto table = detail::read_numeric_csv(csv);
  const std::size_t x = table.column(csv, plot.x), y = table.column(csv, plot.y);
  const std::size_t group = plot.group_by.empty() ? 0 : table.column(csv, plot.group_by);

  std::vector<std::pair<std::string, std::string>> curves;  // group value, its "x y" lines
  std::map<std::string, std::size_t> curve_of;
  for (const auto& row : table.rows) {
    const std::string key = plot.group_by.empty() ? std::string() : row[group];
    const auto [found, added] = curve_of.try_emplace(key, curves.size());
    if (added) curves.emplace_back(key, std::string());
    curves[found->second].second += row[x] + " " + row[y] + "\n";
  }

  auto script = png, data = png;
  script.replace_extension(".gp");
  data.replace_extension(".dat");
  detail::check_outputs(csv, png, {png, script, data});

  std::string blocks, plots;
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const auto& [value, points] = curves[i];
    const std::string title = plot.group_by.empty() ? plot.y : plot.group_by + " = " + value;
    blocks += i ? "\n\n# " : "# ";  // two blank lines end a gnuplot data block
    blocks += title + "\n" + points;
    plots += i ? ", \\\n     " : "plot ";
    plots += detail::gnuplot_quoted(data.string()) + " index " + std::to_string(i) +
             " using 1:2 with lines lw 2 title " + detail::gnuplot_quoted(title);
  }
  detail::write_text(data, png, blocks);
  detail::write_text(script, png,
                     detail::png_terminal(png, 1000, 600) + "set grid\nset key outside right top\nset format y '%g'\n" +
                         (plot.log_y ? "set logscale y\n" : "") + "set title " + detail::gnuplot_quoted(plot.title) +
                         "\nset xlabel " + detail::gnuplot_quoted(plot.x_label.empty() ? plot.x : plot.x_label) +
                         "\nset ylabel " + detail::gnuplot_quoted(plot.y_label.empty() ? plot.y : plot.y_label) +
                         "\n" + plots + "\n");
  detail::run_gnuplot(script, png, csv);
}

}  // namespace typenet

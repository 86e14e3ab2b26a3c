// The plots: a gnuplot script written next to the PNG, and gnuplot started on
// it by Boost.Process, its arguments passed without a shell.
#include "typenet/io/plot.hpp"

#include <fstream>
#include <initializer_list>
#include <iterator>
#include <system_error>

#include <sys/wait.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <boost/process/search_path.hpp>

namespace typenet {

namespace {

namespace process = boost::process;

// A gnuplot string literal: single quotes, a quote doubled; a line break
// would end the command, so it becomes a space.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("''") : std::string(1, c == '\n' ? ' ' : c);
  return out + "'";
}

// Refuses outputs that are the CSV itself: a plot must never cost the log.
void check_outputs(const std::filesystem::path& csv, const std::filesystem::path& png,
                   std::initializer_list<std::filesystem::path> outputs) {
  std::error_code error;
  const auto log = std::filesystem::weakly_canonical(csv, error);
  for (const auto& output : outputs)
    if (std::filesystem::weakly_canonical(output, error) == log)
      throw plot_error(png, "refusing to write " + output.string() + ": it is the CSV being plotted");
}

void write_text(const std::filesystem::path& path, const std::filesystem::path& png, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out.flush()) throw plot_error(png, "cannot write " + path.string());
}

// The PNG terminal, and the CSV as gnuplot reads it: fields split at commas,
// the first line naming the columns.
std::string preamble(const std::filesystem::path& png, int width, int height) {
  return "set terminal pngcairo size " + std::to_string(width) + "," + std::to_string(height) +
         " noenhanced font 'sans,11'\nset output " + quoted(png.string()) +
         "\nset datafile separator ','\nset datafile columnheaders\n";
}

// Runs gnuplot on `script`, which draws `png`; gnuplot's own messages go into
// the error so that a bad plot explains itself.
void run_gnuplot(const std::filesystem::path& script, const std::filesystem::path& png,
                 const std::filesystem::path& csv) {
  const auto gnuplot = find_gnuplot();
  if (gnuplot.empty())
    throw plot_error(png, "cannot draw it: gnuplot was not found on PATH (install gnuplot-nox, then run `gnuplot " +
                              script.string() + "`); " + csv.string() + " is unchanged");
  std::error_code error;
  std::filesystem::remove(png, error);  // so that a stale picture cannot pass for a new one

  process::ipstream output;
  process::child child(process::exe = gnuplot.string(), process::args = {script.string()},
                       process::std_in < process::null, (process::std_out & process::std_err) > output, error);
  if (error) throw plot_error(png, "cannot start " + gnuplot.string() + ": " + error.message());
  std::string messages(std::istreambuf_iterator<char>(output), {});
  child.wait(error);
  const int status = child.native_exit_code();
  while (!messages.empty() && messages.back() == '\n') messages.pop_back();
  if (error || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !std::filesystem::exists(png, error) ||
      std::filesystem::file_size(png, error) == 0) {
    std::filesystem::remove(png, error);  // gnuplot may have drawn half a picture
    throw plot_error(png, "gnuplot " + script.string() + " failed" +
                              (WIFEXITED(status)     ? " with exit status " + std::to_string(WEXITSTATUS(status))
                               : WIFSIGNALED(status) ? ", killed by signal " + std::to_string(WTERMSIG(status))
                                                     : std::string()) +
                              (messages.empty() ? std::string() : ":\n" + messages));
  }
}

}  // namespace

std::filesystem::path find_gnuplot() { return process::search_path("gnuplot").string(); }

void plot_training_curves(const std::filesystem::path& csv, const std::filesystem::path& png) {
  auto script = png;
  script.replace_extension(".gp");
  check_outputs(csv, png, {png, script});

  // The columns of epoch_log::header.
  const auto curves = [&](const std::string& train, const std::string& validation) {
    const std::string style = " with linespoints pt 7 ps 0.6 lw 2 title ";
    return "plot " + quoted(csv.string()) + " using 'epoch':" + quoted(train) + style + "'train', \\\n     '' using 'epoch':" +
           quoted(validation) + style + "'validation'\n";
  };
  write_text(script, png,
             preamble(png, 1200, 450) +
                 "set grid\n"
                 "set xlabel 'epoch'\n"
                 "set multiplot layout 1,2 title " + quoted(csv.filename().string()) + "\n"
                 "set title 'loss'\nset ylabel 'loss'\nset key top right\n" +
                 curves("train_loss", "val_loss") +
                 "set title 'accuracy'\nset ylabel 'accuracy (%)'\nset key bottom right\n" +
                 curves("train_acc", "val_acc") + "unset multiplot\n");
  run_gnuplot(script, png, csv);
}

void plot_series(const std::filesystem::path& csv, const std::filesystem::path& png, const series_plot& plot) {
  auto script = png;
  script.replace_extension(".gp");
  check_outputs(csv, png, {png, script});

  const std::string data = quoted(csv.string()), x = quoted(plot.x), y = quoted(plot.y);
  std::string curves;
  if (plot.group_by.empty()) {
    curves = "plot " + data + " using " + x + ":" + y + " with lines lw 2 title " + y + "\n";
  } else {
    // The group values, in the order they first appear: one stats pass over the
    // CSV appends each value not yet in `groups` (space-separated words). Then
    // a curve per value takes its rows; the other rows' NaN are "missing", which
    // gnuplot skips without breaking the line.
    const std::string group = quoted(plot.group_by);
    curves = "set datafile missing NaN\n"
             "groups = ''\n"
             "stats " + data + " using (value = ' '.strcol(" + group +
             ").' ', strstrt(groups, value) ? 0 : (groups = groups.value), 0) nooutput\n"
             "plot for [g in groups] " + data + " using " + x + ":(strcol(" + group + ") eq g ? column(" + y +
             ") : NaN) with lines lw 2 title " + quoted(plot.group_by + " = ") + ".g\n";
  }
  write_text(script, png,
             preamble(png, 1000, 600) + "set grid\nset key outside right top\nset format y '%g'\n" +
                 (plot.log_y ? "set logscale y\n" : "") + "set title " + quoted(plot.title) + "\nset xlabel " +
                 quoted(plot.x_label.empty() ? plot.x : plot.x_label) + "\nset ylabel " +
                 quoted(plot.y_label.empty() ? plot.y : plot.y_label) + "\n" + curves);
  run_gnuplot(script, png, csv);
}

}  // namespace typenet

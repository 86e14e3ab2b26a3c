#pragma once
// A program run as a child process by a test, and what it left: its exit code and
// its standard output and error, each captured in a file and read back whole.
//
//   const tests::outcome r = tests::run_program(TYPENET_FAULT_TRAINER, {"--help"}, scratch);
//   BOOST_TEST(r.exit_code == 0, r.err);
#include <boost/process.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace tests {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct outcome {
  int exit_code = -1;  // -1 when a signal ended it
  std::string out, err;

  // Every line of stderr, blank ones too: a refusal is one line and nothing else.
  std::vector<std::string> error_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

// Runs `program args` to its end; its output goes through files in `logs`, each
// run's its own, so that a test keeps them all to look at.
inline outcome run_program(const std::string& program, const std::vector<std::string>& args,
                           const std::filesystem::path& logs) {
  static int count = 0;
  const auto out = logs / ("stdout-" + std::to_string(++count)), err = logs / ("stderr-" + std::to_string(count));
  std::filesystem::remove(out), std::filesystem::remove(err);  // Boost.Process writes over a file, not truncating it
  const int code = boost::process::system(boost::process::exe = program, boost::process::args = args,
                                          boost::process::std_out > out.string(), boost::process::std_err > err.string());
  return {code, read_text(out), read_text(err)};
}

}  // namespace tests

// Helpers for the tests that run the built vidserve-bench binary (the test binaries do not
// link the model): where it is, per-test temporary paths, one run with its output in a log.
#ifndef VIDSERVE_TESTS_UNIT_EVAL_BENCH_CLI_H_
#define VIDSERVE_TESTS_UNIT_EVAL_BENCH_CLI_H_

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"

namespace vidserve::eval {

inline std::string BenchBinary() { return std::string(VIDSERVE_BINARY_DIR) + "/vidserve-bench"; }

// A path in the test temp dir named after the running test, so tests do not collide.
inline std::string TempPath(const std::string& name) {
  std::string base = ::testing::TempDir();
  if (!base.empty() && base.back() != '/') base += '/';
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return base + "vidserve_bench_" + info->test_suite_name() + "_" + info->name() + "_" + name;
}

// Runs `vidserve-bench <command> <flags>`, stdout and stderr into `log`; the exit status.
inline int RunBenchCommand(const std::string& command, const std::string& flags,
                           const std::string& log) {
  const std::string line = BenchBinary() + " " + command + " " + flags + " > " + log + " 2>&1";
  const int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace vidserve::eval

#endif  // VIDSERVE_TESTS_UNIT_EVAL_BENCH_CLI_H_

// End-to-end check of `vidserve-bench vae` on the random weights of the tiny preset, on the
// CPU: every size x batch gets a row with positive times for the baseline (LibTorch's
// norms) and for the fused norm, the baseline's bytes agree with themselves and the fused
// norm's within one level, and malformed flags fail before any work. Speed is not asserted (that is the
// bench's job). Runs the built binary; skips when it has not been built.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/eval/bench_cli.h"

namespace vidserve::eval {
namespace {

int RunVaeBench(const std::string& flags, const std::string& log) {
  return RunBenchCommand("vae", flags, log);
}

TEST(VaeBenchCli, OneRowPerSizeAndBatchWithTheBaselineAgreeingWithItself) {
  if (!std::filesystem::exists(BenchBinary())) GTEST_SKIP() << BenchBinary() << " is not built";
  const std::string json_path = TempPath("report.json");
  const std::string log = TempPath("log.txt");
  // Variant flags apply on CUDA only: the CPU measures float32 eager and says so.
  const int status = RunVaeBench(
      "--device cpu --preset tiny --sizes 5x32x32,9x32x32 --batches 1,2 --repeats 1 "
      "--precisions float32,float16 --channels-last 0,1 --json " + json_path,
      log);
  const std::string log_text = ReadFile(log);
  ASSERT_EQ(status, 0) << log_text;
  EXPECT_NE(log_text.find("apply on CUDA only"), std::string::npos) << log_text;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(json_path));
  EXPECT_EQ(report.at("command"), "vae");
  EXPECT_EQ(report.at("device"), "cpu");
  const nlohmann::json& rows = report.at("results");
  ASSERT_EQ(rows.size(), 8u);
  std::set<std::string> baseline_seen, fused_seen;
  for (const nlohmann::json& row : rows) {
    const std::string key =
        row.at("clip").get<std::string>() + "/" + std::to_string(row.at("batch").get<int>());
    EXPECT_EQ(row.at("decode_precision"), "float32");
    EXPECT_GT(row.at("encode_ms").get<double>(), 0);
    EXPECT_GT(row.at("full_decode_ms").get<double>(), 0);
    EXPECT_GT(row.at("thin_decode_ms").get<double>(), 0);
    EXPECT_GT(row.at("full_network_ms").get<double>(), 0);
    EXPECT_GT(row.at("thin_network_ms").get<double>(), 0);
    EXPECT_GT(row.at("thin_network_speedup").get<double>(), 0);
    EXPECT_GE(row.at("thin_output_copy_ms").get<double>(), 0);
    if (!row.at("fused_norm").get<bool>()) {
      baseline_seen.insert(key);
      EXPECT_EQ(row.at("decode_mode"), "eager+libtorch_norm");
      EXPECT_EQ(row.at("full_max_abs_byte_diff"), 0);
      EXPECT_EQ(row.at("thin_max_abs_byte_diff"), 0);
      EXPECT_EQ(row.at("full_psnr_vs_eager_float32_db"), 100.0);
    } else {
      fused_seen.insert(key);
      EXPECT_EQ(row.at("decode_mode"), "eager");
      EXPECT_LE(row.at("full_max_abs_byte_diff").get<int>(), 1);
      EXPECT_LE(row.at("thin_max_abs_byte_diff").get<int>(), 1);
      EXPECT_GT(row.at("full_psnr_vs_eager_float32_db").get<double>(), 60.0);
      EXPECT_GT(row.at("thin_psnr_vs_eager_float32_db").get<double>(), 60.0);
    }
  }
  const std::set<std::string> all = {"5x32x32/1", "5x32x32/2", "9x32x32/1", "9x32x32/2"};
  EXPECT_EQ(baseline_seen, all);
  EXPECT_EQ(fused_seen, all);
  std::remove(json_path.c_str());
  std::remove(log.c_str());
}

TEST(VaeBenchCli, RejectsMalformedFlags) {
  if (!std::filesystem::exists(BenchBinary())) GTEST_SKIP() << BenchBinary() << " is not built";
  const std::string log = TempPath("log.txt");
  EXPECT_EQ(RunVaeBench("--sizes 17x64", log), 2);
  EXPECT_EQ(RunVaeBench("--batches 0", log), 2);
  EXPECT_EQ(RunVaeBench("--precisions fp8", log), 2);
  EXPECT_NE(ReadFile(log).find("--precisions expects"), std::string::npos);
  EXPECT_EQ(RunVaeBench("--channels-last 2", log), 2);
  EXPECT_EQ(RunVaeBench("--conv2d yes", log), 2);
  EXPECT_EQ(RunVaeBench("--fused-norm 2", log), 2);
  std::remove(log.c_str());
}

}  // namespace
}  // namespace vidserve::eval

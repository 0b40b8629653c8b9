#include "train/divergence_guard.h"

#include <vector>

#include "gtest/gtest.h"

namespace vidserve::train {
namespace {

using Verdict = DivergenceGuard::Verdict;

// The verdicts at the end of each window for a run of per-window constant losses.
std::vector<Verdict> WindowVerdicts(const DivergenceGuardOptions& options,
                                    const std::vector<double>& window_losses) {
  DivergenceGuard guard(options);
  std::vector<Verdict> out;
  for (double loss : window_losses) {
    for (int64_t i = 0; i < options.window; ++i) {
      const Verdict v = guard.Observe(loss);
      if (i + 1 < options.window) {
        EXPECT_EQ(v, Verdict::kInWindow);
      } else {
        out.push_back(v);
      }
    }
  }
  return out;
}

TEST(DivergenceGuard, AFallingOrSteadyLossStaysHealthy) {
  DivergenceGuardOptions o;
  o.window = 4;
  for (Verdict v : WindowVerdicts(o, {1.0, 0.8, 0.5, 0.5, 0.52, 0.4})) {
    EXPECT_EQ(v, Verdict::kHealthy);
  }
}

TEST(DivergenceGuard, ASpikeAboveTheStopFactorDivergesAndACreepIsUneasy) {
  DivergenceGuardOptions o;  // stop at 2x, healthy within 1.25x
  o.window = 3;
  const std::vector<Verdict> v = WindowVerdicts(o, {0.2, 0.17, 0.18, 0.23, 0.7});
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0], Verdict::kHealthy);
  EXPECT_EQ(v[1], Verdict::kHealthy);
  EXPECT_EQ(v[2], Verdict::kHealthy);   // 0.18 <= 1.25 * 0.17
  EXPECT_EQ(v[3], Verdict::kUneasy);    // 0.23 > 1.25 * 0.17, < 2 * 0.17
  EXPECT_EQ(v[4], Verdict::kDiverged);  // 0.7 > 2 * 0.17
}

TEST(DivergenceGuard, ReportsWindowMeansAndNeverStopsWhenOff) {
  DivergenceGuardOptions o;
  o.window = 2;
  o.stop_factor = 0;
  DivergenceGuard guard(o);
  EXPECT_FALSE(guard.best_window_mean().has_value());
  guard.Observe(1.0);
  EXPECT_EQ(guard.Observe(3.0), Verdict::kHealthy);  // the first window is the best so far
  EXPECT_DOUBLE_EQ(*guard.last_window_mean(), 2.0);
  guard.Observe(100);
  EXPECT_EQ(guard.Observe(100), Verdict::kUneasy);
  EXPECT_DOUBLE_EQ(*guard.best_window_mean(), 2.0);
  EXPECT_DOUBLE_EQ(*guard.last_window_mean(), 100.0);
}

TEST(DivergenceGuard, ValidationNamesTheField) {
  DivergenceGuardOptions o;
  EXPECT_TRUE(ValidateDivergenceGuardOptions(o).ok());
  o.window = 0;
  EXPECT_NE(ValidateDivergenceGuardOptions(o).message().find("divergence_window"),
            std::string::npos);
  o = {};
  o.healthy_factor = 0.9;
  EXPECT_NE(ValidateDivergenceGuardOptions(o).message().find("divergence_healthy_factor"),
            std::string::npos);
  o = {};
  o.stop_factor = 1.1;  // under the healthy factor
  EXPECT_NE(ValidateDivergenceGuardOptions(o).message().find("divergence_factor"),
            std::string::npos);
  o.stop_factor = 0;
  EXPECT_TRUE(ValidateDivergenceGuardOptions(o).ok());
}

}  // namespace
}  // namespace vidserve::train

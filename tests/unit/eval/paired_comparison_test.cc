// The paired comparison behind vidserve-bench quality's "vs #1" lines.
#include "eval/paired_comparison.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vidserve::eval {
namespace {

TEST(McNemarExactPValue, MatchesTheBinomialTail) {
  EXPECT_DOUBLE_EQ(McNemarExactPValue(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(McNemarExactPValue(5, 5), 1.0);  // an even split is no evidence
  // 10 : 0 -> 2 * (1/2)^10.
  EXPECT_NEAR(McNemarExactPValue(10, 0), 2.0 / 1024.0, 1e-12);
  EXPECT_NEAR(McNemarExactPValue(0, 10), 2.0 / 1024.0, 1e-12);
  // 8 : 2 of 10 -> 2 * (1 + 10 + 45) / 1024.
  EXPECT_NEAR(McNemarExactPValue(8, 2), 112.0 / 1024.0, 1e-12);
  // Large counts stay finite and symmetric: 300 : 200 is far beyond chance.
  const double p = McNemarExactPValue(300, 200);
  EXPECT_GT(p, 0.0);
  EXPECT_LT(p, 1e-5);
  EXPECT_DOUBLE_EQ(p, McNemarExactPValue(200, 300));
}

TEST(ComparePaired, CountsEachDirectionAndSkipsUnscoredClips) {
  const std::vector<std::optional<bool>> baseline = {true, true, false, false, std::nullopt, true};
  const std::vector<std::optional<bool>> candidate = {true, false, true, false, true};
  const PairedComparison c = ComparePaired(baseline, candidate);
  EXPECT_EQ(c.both_right, 1);
  EXPECT_EQ(c.lost, 1);
  EXPECT_EQ(c.gained, 1);
  EXPECT_EQ(c.both_wrong, 1);
  EXPECT_EQ(c.unpaired, 2);  // not scored in the baseline; past the candidate's end
  EXPECT_EQ(c.net(), 0);
  EXPECT_DOUBLE_EQ(c.p_value, 1.0);
}

TEST(ComparePaired, AOneSidedChangeIsSignificant) {
  std::vector<std::optional<bool>> baseline(40, false), candidate(40, false);
  for (int i = 0; i < 12; ++i) candidate[i] = true;
  const PairedComparison c = ComparePaired(baseline, candidate);
  EXPECT_EQ(c.gained, 12);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(c.net(), 12);
  EXPECT_NEAR(c.p_value, 2.0 * std::pow(0.5, 12), 1e-12);
}

}  // namespace
}  // namespace vidserve::eval

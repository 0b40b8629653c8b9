#include "train/parameter_ema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vidserve::train {
namespace {

using ::testing::HasSubstr;

TEST(ParameterEmaTest, DecayRampsUpThenCaps) {
  auto p = torch::zeros({2});
  ParameterEma ema({{"p", p}}, 0.99);
  EXPECT_DOUBLE_EQ(ema.DecayAt(0), 0.1);
  EXPECT_DOUBLE_EQ(ema.DecayAt(10), 11.0 / 20.0);
  EXPECT_DOUBLE_EQ(ema.DecayAt(100000), 0.99);
}

TEST(ParameterEmaTest, UpdateIsTheWeightedAverageAndCopyWritesItBack) {
  auto p = torch::full({3}, 1.0);
  ParameterEma ema({{"p", p}}, 0.5);
  p.fill_(3.0);
  ema.Update(1000);  // decay 0.5: (1 + 3) / 2
  EXPECT_TRUE(torch::allclose(ema.shadows()[0].second, torch::full({3}, 2.0)));
  p.fill_(4.0);
  ema.Update(1000);  // (2 + 4) / 2
  EXPECT_TRUE(torch::allclose(ema.shadows()[0].second, torch::full({3}, 3.0)));
  ema.CopyToParameters();
  EXPECT_TRUE(torch::allclose(p, torch::full({3}, 3.0)));
}

TEST(ParameterEmaTest, ZeroDecayTracksTheWeights) {
  auto p = torch::zeros({2});
  ParameterEma ema({{"p", p}}, 0.0);
  p.fill_(7.0);
  ema.Update(5);
  EXPECT_TRUE(torch::equal(ema.shadows()[0].second, p));
}

TEST(ParameterEmaTest, LoadShadowsNamesMissingAndMisshapedTensors) {
  auto p = torch::zeros({2});
  ParameterEma ema({{"layer.weight", p}}, 0.9);
  EXPECT_THAT(std::string(ema.LoadShadows({}).message()), HasSubstr("layer.weight"));
  EXPECT_THAT(std::string(ema.LoadShadows({{"layer.weight", torch::zeros({3})}}).message()),
              HasSubstr("shape"));
  ASSERT_TRUE(ema.LoadShadows({{"layer.weight", torch::ones({2})}}).ok());
  EXPECT_TRUE(torch::equal(ema.shadows()[0].second, torch::ones({2})));
}

}  // namespace
}  // namespace vidserve::train

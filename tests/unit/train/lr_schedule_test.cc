#include "train/lr_schedule.h"

#include <gtest/gtest.h>

namespace vidserve::train {
namespace {

OptimizerOptions Options() {
  OptimizerOptions o;
  o.learning_rate = 1e-3;
  o.min_learning_rate_ratio = 0.1;
  o.warmup_steps = 10;
  return o;
}

TEST(LearningRateTest, WarmsUpLinearlyToThePeak) {
  const OptimizerOptions o = Options();
  EXPECT_DOUBLE_EQ(LearningRateAt(0, 100, o), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(4, 100, o), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(9, 100, o), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(10, 100, o), 1e-3);  // cosine starts at the peak
}

TEST(LearningRateTest, CosineDecaysMonotonicallyToTheFloorAndStaysThere) {
  const OptimizerOptions o = Options();
  double previous = LearningRateAt(10, 100, o);
  for (int64_t step = 11; step <= 100; ++step) {
    const double lr = LearningRateAt(step, 100, o);
    EXPECT_LT(lr, previous) << "step " << step;
    previous = lr;
  }
  EXPECT_NEAR(LearningRateAt(55, 100, o), 1e-4 + 0.5 * 9e-4, 1e-12);  // half way
  EXPECT_DOUBLE_EQ(LearningRateAt(100, 100, o), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(500, 100, o), 1e-4);
}

TEST(LearningRateTest, NoWarmupStartsAtThePeak) {
  OptimizerOptions o = Options();
  o.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(LearningRateAt(0, 50, o), 1e-3);
}

}  // namespace
}  // namespace vidserve::train

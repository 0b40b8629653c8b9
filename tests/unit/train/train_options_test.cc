#include "train/train_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vidserve::train {
namespace {

using ::testing::HasSubstr;

TrainOptions Valid() {
  TrainOptions o;
  o.run_dir = "/tmp/run";
  return o;
}

std::string ErrorOf(const TrainOptions& o) { return std::string(ValidateTrainOptions(o).message()); }

TEST(TrainOptionsTest, DefaultsWithARunDirAreValid) { EXPECT_TRUE(ValidateTrainOptions(Valid()).ok()); }

TEST(TrainOptionsTest, ErrorsNameTheFieldAndRange) {
  TrainOptions o = Valid();
  o.batch_size = 0;
  EXPECT_THAT(ErrorOf(o), HasSubstr("batch_size: must be in [1, 4096], got 0"));
  o = Valid();
  o.data.frames = 16;
  EXPECT_THAT(ErrorOf(o), HasSubstr("frames: must be 4k+1"));
  o = Valid();
  o.data.height = 40;
  EXPECT_THAT(ErrorOf(o), HasSubstr("height: must be a multiple of 16"));
  o = Valid();
  o.optimizer.ema_decay = 1.0;
  EXPECT_THAT(ErrorOf(o), HasSubstr("ema_decay"));
  o = Valid();
  o.mixer = "lstm";
  EXPECT_THAT(ErrorOf(o), HasSubstr("mixer: must be softmax, loglinear or mesa"));
  o = Valid();
  o.run_dir.clear();
  EXPECT_THAT(ErrorOf(o), HasSubstr("run_dir"));
  o = Valid();
  o.stage = TrainStage::kThinDecoder;
  EXPECT_THAT(ErrorOf(o), HasSubstr("init_checkpoint"));
  o = Valid();
  o.data.first_clip = -1;
  EXPECT_THAT(ErrorOf(o), HasSubstr("first_clip: must be in [0, 2^39], got -1"));
  o.data.first_clip = 1000000;
  EXPECT_TRUE(ValidateTrainOptions(o).ok());
}

TEST(TrainOptionsTest, StageNamesRoundTrip) {
  for (TrainStage s : {TrainStage::kVae, TrainStage::kThinDecoder, TrainStage::kDenoiser}) {
    auto parsed = ParseTrainStage(TrainStageName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_FALSE(ParseTrainStage("decoder").ok());
}

}  // namespace
}  // namespace vidserve::train

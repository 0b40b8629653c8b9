#include "data/temporal_consistency.h"

#include "data/synthetic_clip_generator.h"
#include "gtest/gtest.h"

namespace vidserve::data {
namespace {

media::VideoFrames Flat(int frames, std::vector<uint8_t> levels) {
  media::VideoFrames v;
  v.frames = frames;
  v.height = 4;
  v.width = 4;
  v.rgb.resize(v.ExpectedBytes());
  for (int t = 0; t < frames; ++t) {
    std::fill(v.Frame(t), v.Frame(t) + v.FrameBytes(), levels[t % levels.size()]);
  }
  return v;
}

TEST(TemporalConsistency, StaticClipIsPerfectlyConsistent) {
  absl::StatusOr<TemporalConsistency> c = MeasureTemporalConsistency(Flat(5, {80}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->mean_abs_frame_difference, 0);
  EXPECT_DOUBLE_EQ(c->score, 1);
  EXPECT_DOUBLE_EQ(c->brightness_flicker, 0);
}

TEST(TemporalConsistency, AlternatingBrightnessIsFlicker) {
  absl::StatusOr<TemporalConsistency> c = MeasureTemporalConsistency(Flat(5, {0, 51}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->mean_abs_frame_difference, 0.2);
  EXPECT_DOUBLE_EQ(c->score, 0.8);
  EXPECT_DOUBLE_EQ(c->brightness_flicker, 0.2);
}

TEST(TemporalConsistency, MovingObjectChangesFewPixelsAndBarelyFlickers) {
  SyntheticClipOptions options;
  options.max_objects = 1;
  options.motions = {Motion::kRight};
  absl::StatusOr<TemporalConsistency> c =
      MeasureTemporalConsistency(Render(SampleSpec(1, options)));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_GT(c->mean_abs_frame_difference, 0);
  EXPECT_LT(c->mean_abs_frame_difference, 0.05);
  EXPECT_LT(c->brightness_flicker, 0.01);
}

TEST(TemporalConsistency, RejectsInconsistentClips) {
  media::VideoFrames v = Flat(2, {0});
  v.rgb.resize(3);
  EXPECT_EQ(MeasureTemporalConsistency(v).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vidserve::data

#include "eval/prompt_following_tally.h"

#include <cmath>

#include "gtest/gtest.h"

namespace vidserve::eval {
namespace {

data::ClipScore MakeScore(std::optional<bool> colour, std::optional<bool> shape,
                          std::optional<bool> motion) {
  data::ClipScore score;
  score.colour_correct = colour;
  score.shape_correct = shape;
  score.motion_correct = motion;
  return score;
}

data::TemporalConsistency Consistency(double frame_difference, double flicker) {
  data::TemporalConsistency c;
  c.mean_abs_frame_difference = frame_difference;
  c.score = 1 - frame_difference;
  c.brightness_flicker = flicker;
  return c;
}

TEST(PromptFollowingTally, CountsEachAttributeOnlyWhereThePromptNamesIt) {
  PromptFollowingTally tally;
  tally.Add(MakeScore(true, true, false), Consistency(0.1, 0.0));
  tally.Add(MakeScore(true, false, std::nullopt), Consistency(0.2, 0.02));
  tally.Add(MakeScore(false, std::nullopt, std::nullopt), Consistency(0.3, 0.04));
  tally.Add(MakeScore(true, true, true), Consistency(0.0, 0.0));
  EXPECT_EQ(tally.clips(), 4);
  EXPECT_EQ(tally.colour().correct, 3);
  EXPECT_EQ(tally.colour().scored, 4);
  EXPECT_DOUBLE_EQ(tally.colour().Percent(), 75);
  EXPECT_EQ(tally.shape().correct, 2);
  EXPECT_EQ(tally.shape().scored, 3);
  EXPECT_EQ(tally.motion().correct, 1);
  EXPECT_EQ(tally.motion().scored, 2);
  EXPECT_DOUBLE_EQ(tally.motion().Percent(), 50);
  // Only the last clip has every named attribute right.
  EXPECT_EQ(tally.all_named().correct, 1);
  EXPECT_EQ(tally.all_named().scored, 4);
}

TEST(PromptFollowingTally, ClipThatNamesNothingCountsOnlyTowardConsistency) {
  PromptFollowingTally tally;
  tally.Add(MakeScore(std::nullopt, std::nullopt, std::nullopt), Consistency(0.5, 0.1));
  EXPECT_EQ(tally.clips(), 1);
  EXPECT_EQ(tally.all_named().scored, 0);
  EXPECT_TRUE(std::isnan(tally.colour().Percent()));
  EXPECT_DOUBLE_EQ(tally.MeanConsistency().mean_abs_frame_difference, 0.5);
}

TEST(PromptFollowingTally, MeanConsistencyAveragesEveryField) {
  PromptFollowingTally tally;
  EXPECT_DOUBLE_EQ(tally.MeanConsistency().score, 1);  // empty: a default value
  tally.Add(MakeScore(true, true, true), Consistency(0.1, 0.02));
  tally.Add(MakeScore(true, true, true), Consistency(0.3, 0.04));
  const data::TemporalConsistency mean = tally.MeanConsistency();
  EXPECT_DOUBLE_EQ(mean.mean_abs_frame_difference, 0.2);
  EXPECT_DOUBLE_EQ(mean.score, 0.8);
  EXPECT_DOUBLE_EQ(mean.brightness_flicker, 0.03);
}

TEST(PromptFollowingTally, ConfusionCountsWhatTheNamedValuesCameOutAs) {
  PromptFollowingTally tally;
  data::ExpectedAttributes circle_right;
  circle_right.shape = data::Shape::kCircle;
  circle_right.motion = data::Motion::kRight;
  data::ClipScore seen_as_diamond_left = MakeScore(std::nullopt, false, false);
  seen_as_diamond_left.judged_shape = data::Shape::kDiamond;
  seen_as_diamond_left.judged_motion = data::Motion::kLeft;
  data::ClipScore right = MakeScore(std::nullopt, true, true);
  right.judged_shape = data::Shape::kCircle;
  right.judged_motion = data::Motion::kRight;
  const data::ClipScore nothing_found = MakeScore(std::nullopt, false, false);
  tally.Add(seen_as_diamond_left, Consistency(0, 0), circle_right);
  tally.Add(right, Consistency(0, 0), circle_right);
  tally.Add(seen_as_diamond_left, Consistency(0, 0), circle_right);
  tally.Add(nothing_found, Consistency(0, 0), circle_right);
  data::ExpectedAttributes colour_only;
  colour_only.colour = data::Colour::kRed;
  tally.Add(right, Consistency(0, 0), colour_only);  // names no shape or motion
  const Confusion want_shape = {{"circle", {{"diamond", 2}, {"circle", 1}, {"none", 1}}}};
  EXPECT_EQ(tally.shape_confusion(), want_shape);
  ASSERT_EQ(tally.motion_confusion().size(), 1u);
  const auto& right_row = tally.motion_confusion().begin()->second;
  int total = 0;
  for (const auto& [seen, n] : right_row) total += n;
  EXPECT_EQ(total, 4);
  EXPECT_EQ(right_row.at("none"), 1);
}

}  // namespace
}  // namespace vidserve::eval

#include "eval/prompt_following_tally.h"

#include <limits>
#include <optional>
#include <string>

namespace vidserve::eval {
namespace {

void Count(const std::optional<bool>& correct, Accuracy& accuracy) {
  if (!correct.has_value()) return;
  ++accuracy.scored;
  if (*correct) ++accuracy.correct;
}

// One (named -> judged) count; nothing when the prompt does not name the attribute.
template <typename T, typename NameOf>
void CountConfusion(const std::optional<T>& named, const std::optional<T>& judged,
                    NameOf name_of, Confusion& confusion) {
  if (!named.has_value()) return;
  confusion[std::string(name_of(*named))][judged ? std::string(name_of(*judged)) : "none"]++;
}

}  // namespace

double Accuracy::Percent() const {
  if (scored == 0) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * correct / scored;
}

void PromptFollowingTally::Add(const data::ClipScore& score,
                               const data::TemporalConsistency& consistency,
                               const data::ExpectedAttributes& expected) {
  ++clips_;
  Count(score.colour_correct, colour_);
  Count(score.shape_correct, shape_);
  Count(score.motion_correct, motion_);
  const std::optional<bool> parts[] = {score.colour_correct, score.shape_correct,
                                       score.motion_correct};
  bool any_named = false, all_right = true;
  for (const std::optional<bool>& part : parts) {
    if (!part.has_value()) continue;
    any_named = true;
    all_right = all_right && *part;
  }
  if (any_named) Count(all_right, all_named_);
  sum_score_ += consistency.score;
  sum_frame_difference_ += consistency.mean_abs_frame_difference;
  sum_flicker_ += consistency.brightness_flicker;
  CountConfusion(expected.shape, score.judged_shape, data::ShapeName, shape_confusion_);
  CountConfusion(expected.motion, score.judged_motion, data::MotionPhrase, motion_confusion_);
}

data::TemporalConsistency PromptFollowingTally::MeanConsistency() const {
  data::TemporalConsistency mean;
  if (clips_ == 0) return mean;
  mean.score = sum_score_ / clips_;
  mean.mean_abs_frame_difference = sum_frame_difference_ / clips_;
  mean.brightness_flicker = sum_flicker_ / clips_;
  return mean;
}

}  // namespace vidserve::eval

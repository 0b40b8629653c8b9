// Prompt-following scores over many clips: per attribute (colour, shape, motion) how many
// of the clips whose prompt names it show it, as judged by data::Score on
// data::DetectClip's output, plus the mean temporal consistency of the clips. The quality
// report keeps one tally per checkpoint for generated clips and one for the ground-truth
// renders of the same captions, whose accuracy is the detector's ceiling and whose
// consistency is what a faithful generator should match.
//
// Thread-safety: not thread-safe; one thread adds and reads.
#ifndef VIDSERVE_EVAL_PROMPT_FOLLOWING_TALLY_H_
#define VIDSERVE_EVAL_PROMPT_FOLLOWING_TALLY_H_

#include "data/clip_detector.h"
#include "data/temporal_consistency.h"

namespace vidserve::eval {

struct Accuracy {
  int correct = 0;
  int scored = 0;  // clips whose prompt named the attribute
  // 100 * correct / scored; NaN when nothing was scored (printed "n/a", JSON null).
  double Percent() const;
};

class PromptFollowingTally {
 public:
  void Add(const data::ClipScore& score, const data::TemporalConsistency& consistency);

  int clips() const { return clips_; }
  const Accuracy& colour() const { return colour_; }
  const Accuracy& shape() const { return shape_; }
  const Accuracy& motion() const { return motion_; }
  // Clips whose every named attribute is right, over clips that name at least one.
  const Accuracy& all_named() const { return all_named_; }
  // Field-wise means over the added clips; a default TemporalConsistency when none.
  data::TemporalConsistency MeanConsistency() const;

 private:
  int clips_ = 0;
  Accuracy colour_, shape_, motion_, all_named_;
  double sum_score_ = 0, sum_frame_difference_ = 0, sum_flicker_ = 0;
};

}  // namespace vidserve::eval

#endif  // VIDSERVE_EVAL_PROMPT_FOLLOWING_TALLY_H_

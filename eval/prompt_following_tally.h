// Prompt-following scores over many clips: per attribute (colour, shape, motion) how many
// of the clips whose prompt names it show it, as judged by data::Score on
// data::DetectClip's output, plus the mean temporal consistency of the clips. The quality
// report keeps one tally per checkpoint for generated clips and one for the ground-truth
// renders of the same captions, whose accuracy is the detector's ceiling and whose
// consistency is what a faithful generator should match. Confusion counts show where the
// misses of shape and motion go.
//
// Thread-safety: not thread-safe; one thread adds and reads.
#ifndef VIDSERVE_EVAL_PROMPT_FOLLOWING_TALLY_H_
#define VIDSERVE_EVAL_PROMPT_FOLLOWING_TALLY_H_

#include <map>
#include <string>

#include "data/caption_parser.h"
#include "data/clip_detector.h"
#include "data/temporal_consistency.h"

namespace vidserve::eval {

struct Accuracy {
  int correct = 0;
  int scored = 0;  // clips whose prompt named the attribute
  // 100 * correct / scored; NaN when nothing was scored (printed "n/a", JSON null).
  double Percent() const;
};

// Counts of (named value -> what the detector saw) over clips whose prompt names the
// attribute; "none" when nothing was detected or the object fits no shape. Shows which way
// the misses go.
using Confusion = std::map<std::string, std::map<std::string, int>>;

class PromptFollowingTally {
 public:
  // `expected`: the prompt's attributes, for the confusion counts of those it names.
  void Add(const data::ClipScore& score, const data::TemporalConsistency& consistency,
           const data::ExpectedAttributes& expected = {});

  int clips() const { return clips_; }
  const Accuracy& colour() const { return colour_; }
  const Accuracy& shape() const { return shape_; }
  const Accuracy& motion() const { return motion_; }
  // Clips whose every named attribute is right, over clips that name at least one.
  const Accuracy& all_named() const { return all_named_; }
  // Field-wise means over the added clips; a default TemporalConsistency when none.
  data::TemporalConsistency MeanConsistency() const;
  const Confusion& shape_confusion() const { return shape_confusion_; }
  const Confusion& motion_confusion() const { return motion_confusion_; }

 private:
  int clips_ = 0;
  Confusion shape_confusion_, motion_confusion_;
  Accuracy colour_, shape_, motion_, all_named_;
  double sum_score_ = 0, sum_frame_difference_ = 0, sum_flicker_ = 0;
};

}  // namespace vidserve::eval

#endif  // VIDSERVE_EVAL_PROMPT_FOLLOWING_TALLY_H_

// Temporal consistency of a decoded clip, for the quality report: how much consecutive
// frames differ. Generated clips should be about as steady as the ground truth they
// imitate, so the report compares these numbers with the same numbers on ground-truth
// clips rather than reading them in isolation (a moving object legitimately changes
// pixels; flicker and boiling textures change many more).
//
// Pure function; thread-safe.
#ifndef VIDSERVE_DATA_TEMPORAL_CONSISTENCY_H_
#define VIDSERVE_DATA_TEMPORAL_CONSISTENCY_H_

#include "absl/status/statusor.h"
#include "media/video_frames.h"

namespace vidserve::data {

struct TemporalConsistency {
  // Mean over consecutive frame pairs, pixels and channels of |f[t] - f[t-1]| / 255, in
  // [0, 1]; 0 for a static clip or a single frame.
  double mean_abs_frame_difference = 0;
  // 1 - mean_abs_frame_difference: higher is steadier.
  double score = 1;
  // Mean over consecutive frame pairs of |mean(f[t]) - mean(f[t-1])| / 255: global
  // brightness flicker, which a small moving object barely moves but a flickering decoder
  // does.
  double brightness_flicker = 0;
};

// InvalidArgument if rgb.size() != frames*height*width*3 or the clip is empty.
absl::StatusOr<TemporalConsistency> MeasureTemporalConsistency(const media::VideoFrames& video);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_TEMPORAL_CONSISTENCY_H_

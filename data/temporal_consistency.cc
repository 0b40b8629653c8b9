#include "data/temporal_consistency.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vidserve::data {

absl::StatusOr<TemporalConsistency> MeasureTemporalConsistency(const media::VideoFrames& video) {
  if (video.frames < 1 || video.FrameBytes() == 0 || video.rgb.size() != video.ExpectedBytes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MeasureTemporalConsistency: inconsistent clip (frames=", video.frames,
        " height=", video.height, " width=", video.width, " rgb bytes=", video.rgb.size(), ")"));
  }
  TemporalConsistency out;
  if (video.frames == 1) return out;
  const size_t n = video.FrameBytes();
  double diff_sum = 0, flicker_sum = 0;
  for (int t = 1; t < video.frames; ++t) {
    const uint8_t* a = video.Frame(t - 1);
    const uint8_t* b = video.Frame(t);
    long abs_sum = 0, signed_sum = 0;
    for (size_t i = 0; i < n; ++i) {
      const int d = int(b[i]) - int(a[i]);
      abs_sum += std::abs(d);
      signed_sum += d;
    }
    diff_sum += double(abs_sum) / n;
    flicker_sum += std::abs(double(signed_sum) / n);
  }
  const int pairs = video.frames - 1;
  out.mean_abs_frame_difference = diff_sum / pairs / 255.0;
  out.score = 1.0 - out.mean_abs_frame_difference;
  out.brightness_flicker = flicker_sum / pairs / 255.0;
  return out;
}

}  // namespace vidserve::data

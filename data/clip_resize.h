// Shape adjustments a training loader applies to clips of arbitrary size and length: a
// centre crop to the target aspect ratio followed by a resize (so nothing is stretched),
// and trimming to 4k+1 frames (the VAE compresses time by 4 after the first frame).
//
// Pure functions; thread-safe.
#ifndef VIDSERVE_DATA_CLIP_RESIZE_H_
#define VIDSERVE_DATA_CLIP_RESIZE_H_

#include "absl/status/statusor.h"
#include "media/video_frames.h"

namespace vidserve::data {

enum class ResizeFilter {
  kNearest,  // exact source pixels: keeps hard edges and palette colours intact
  kArea,     // box average weighted by overlap: no aliasing when shrinking
};

// Centre-crops `video` to height:width, then resizes to exactly height x width.
// InvalidArgument if the target is not positive or `video` is inconsistent.
absl::StatusOr<media::VideoFrames> CropAndResize(const media::VideoFrames& video, int height,
                                                 int width, ResizeFilter filter);

// Keeps the first 4k+1 frames, the most that fit. InvalidArgument for an empty clip.
absl::StatusOr<media::VideoFrames> TrimToFourKPlusOne(media::VideoFrames video);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_CLIP_RESIZE_H_

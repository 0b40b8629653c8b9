// Full-reference quality of a reconstructed or decoded clip against its reference: PSNR and
// SSIM, the two numbers the quality report gives for the VAE's full and thin decoders.
//
// PSNR pools the squared error over every frame, pixel and channel into one MSE (so a
// clip's PSNR is not the mean of per-frame PSNRs, which would overweight near-perfect
// frames), with peak 255. Identical clips have an infinite PSNR; it is reported as
// kPsnrCapDb so means over clips and JSON stay finite.
//
// SSIM follows Wang, Bovik, Sheikh & Simoncelli (2004) and their reference code: an 11x11
// Gaussian window with sigma 1.5, normalised to sum 1; K1 = 0.01, K2 = 0.03 with L = 255;
// the SSIM map over the "valid" positions only (where the window lies inside the frame, no
// padding), averaged. It is computed on each RGB channel separately and the three means are
// averaged (not on luma): the synthetic clips' objects differ from each other and from the
// background by hue as much as by brightness, and a luma-only SSIM would not see a red
// object decoded as an equally bright green one. The clip's SSIM is the mean over frames.
//
// Thread-safety: pure functions of their arguments; safe to call concurrently.
#ifndef VIDSERVE_EVAL_VIDEO_QUALITY_H_
#define VIDSERVE_EVAL_VIDEO_QUALITY_H_

#include "absl/status/statusor.h"
#include "media/video_frames.h"

namespace vidserve::eval {

// PSNR reported for identical clips and the ceiling of every PSNR: a clip of 17x64x64 RGB
// frames with a single value off by one already scores ~101 dB, so nothing above this is
// distinguishable from identical for 8-bit video.
inline constexpr double kPsnrCapDb = 100.0;

// Side of the SSIM window; frames smaller than this in either dimension are rejected.
inline constexpr int kSsimWindow = 11;

struct VideoQuality {
  double psnr_db = 0;  // in (0, kPsnrCapDb]; higher is better
  double ssim = 0;     // in [-1, 1]; 1 for identical clips
};

// Errors (InvalidArgument): a clip whose rgb size disagrees with its shape or that has no
// frames; clips of different shape (the message gives both as TxHxW); for SSIM, frames
// smaller than kSsimWindow in height or width.
absl::StatusOr<double> Psnr(const media::VideoFrames& reference, const media::VideoFrames& test);
absl::StatusOr<double> Ssim(const media::VideoFrames& reference, const media::VideoFrames& test);
// Both, with the same checks.
absl::StatusOr<VideoQuality> MeasureVideoQuality(const media::VideoFrames& reference,
                                                 const media::VideoFrames& test);

}  // namespace vidserve::eval

#endif  // VIDSERVE_EVAL_VIDEO_QUALITY_H_

// VAE reconstruction quality over many clips, for the full and the thin decoder side by
// side, overall and per background texture. The split matters because the textures are
// not equally reconstructible: solid, striped and checkered backgrounds are smooth at the
// latent's 8x-downsampled resolution, while per-pixel noise carries more information than
// the latent has room for, so one number over all clips would mostly measure how many
// noise backgrounds the sample happened to draw.
//
// Means are over clips of each clip's PSNR and SSIM (eval/video_quality.h), the usual
// convention for reconstruction benchmarks.
//
// Thread-safety: not thread-safe; one thread adds and reads.
#ifndef VIDSERVE_EVAL_RECONSTRUCTION_BREAKDOWN_H_
#define VIDSERVE_EVAL_RECONSTRUCTION_BREAKDOWN_H_

#include <array>

#include "data/clip_attributes.h"
#include "eval/video_quality.h"

namespace vidserve::eval {

struct ReconstructionSummary {
  int clips = 0;
  VideoQuality full;  // means; zeros when clips == 0
  VideoQuality thin;
  // What the thin decoder gives up: full minus thin (positive = thin is worse).
  double PsnrLossDb() const { return full.psnr_db - thin.psnr_db; }
  double SsimLoss() const { return full.ssim - thin.ssim; }
};

class ReconstructionBreakdown {
 public:
  // One clip with background `texture`, decoded by both decoders.
  void Add(data::Texture texture, const VideoQuality& full, const VideoQuality& thin);

  ReconstructionSummary Overall() const;
  // clips == 0 for a texture no added clip had.
  ReconstructionSummary ForTexture(data::Texture texture) const;

 private:
  struct Sums {
    int clips = 0;
    double full_psnr_db = 0, full_ssim = 0, thin_psnr_db = 0, thin_ssim = 0;
  };
  static ReconstructionSummary Summarise(const Sums& sums);

  Sums overall_;
  std::array<Sums, data::kAllTextures.size()> by_texture_;
};

}  // namespace vidserve::eval

#endif  // VIDSERVE_EVAL_RECONSTRUCTION_BREAKDOWN_H_

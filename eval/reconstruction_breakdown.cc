#include "eval/reconstruction_breakdown.h"

namespace vidserve::eval {

void ReconstructionBreakdown::Add(data::Texture texture, const VideoQuality& full,
                                  const VideoQuality& thin) {
  for (Sums* sums : {&overall_, &by_texture_[static_cast<size_t>(texture)]}) {
    ++sums->clips;
    sums->full_psnr_db += full.psnr_db;
    sums->full_ssim += full.ssim;
    sums->thin_psnr_db += thin.psnr_db;
    sums->thin_ssim += thin.ssim;
  }
}

ReconstructionSummary ReconstructionBreakdown::Overall() const { return Summarise(overall_); }

ReconstructionSummary ReconstructionBreakdown::ForTexture(data::Texture texture) const {
  return Summarise(by_texture_[static_cast<size_t>(texture)]);
}

ReconstructionSummary ReconstructionBreakdown::Summarise(const Sums& sums) {
  ReconstructionSummary summary;
  summary.clips = sums.clips;
  if (sums.clips == 0) return summary;
  summary.full = {sums.full_psnr_db / sums.clips, sums.full_ssim / sums.clips};
  summary.thin = {sums.thin_psnr_db / sums.clips, sums.thin_ssim / sums.clips};
  return summary;
}

}  // namespace vidserve::eval

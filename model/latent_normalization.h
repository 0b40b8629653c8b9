// The map between the VAE's latent space and the denoiser's: x = (z - mean) / std per
// channel, with mean/std from VaeConfig (empty = identity). One definition for the trainer
// (which measures the statistics and trains in x) and the server (which samples in x and
// decodes z), so the two can never disagree. Internal to model/ and train/ (includes torch).
//
// Thread-safety: immutable after construction; const methods are thread-safe.
#ifndef VIDSERVE_MODEL_LATENT_NORMALIZATION_H_
#define VIDSERVE_MODEL_LATENT_NORMALIZATION_H_

#include <torch/torch.h>

#include <vector>

#include "model/model_config.h"

namespace vidserve {

class LatentNormalizer {
 public:
  LatentNormalizer() = default;  // identity
  // REQUIRES: ValidateModelConfig passed (lists empty or latent_channels long, std > 0).
  LatentNormalizer(const VaeConfig& vae, const torch::Device& device);

  bool is_identity() const { return !mean_.defined(); }
  // z [B, C, ...] -> x. The statistics broadcast over every dimension after C.
  torch::Tensor Normalize(const torch::Tensor& z) const;
  // x -> z.
  torch::Tensor Denormalize(const torch::Tensor& x) const;

 private:
  torch::Tensor Shaped(const torch::Tensor& stat, int64_t dims) const;
  torch::Tensor mean_;  // [C] float32, undefined for the identity
  torch::Tensor std_;   // [C]
};

// Per-channel mean and standard deviation of latents [N, C, ...] (over every dim but C),
// as the config wants them. Standard deviations are floored at 1e-6.
void MeasureLatentStatistics(const torch::Tensor& latents, std::vector<double>* mean,
                             std::vector<double>* std);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_LATENT_NORMALIZATION_H_

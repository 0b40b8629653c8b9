// Residual block of the causal VAE: GroupNorm -> SiLU -> CausalConv3d, twice, plus a
// 1x1x1 projection on the skip path when the width changes. GroupNorm statistics are taken
// per frame (time folded into the batch) so that no operation mixes time steps except the
// causal convolutions: this is what keeps the whole VAE causal in time.
//
// Thread-safety: as torch::nn::Module (concurrent forward() only without mutation).
#ifndef VIDSERVE_MODEL_CAUSAL_RES_BLOCK_H_
#define VIDSERVE_MODEL_CAUSAL_RES_BLOCK_H_

#include <torch/torch.h>

#include "model/causal_conv3d.h"

namespace vidserve {

// Number of GroupNorm groups for `channels`: the largest divisor of channels <= 32, so that
// narrow (thin decoder) widths still normalise in groups of several channels.
int64_t GroupNormGroups(int64_t channels);

// GroupNorm applied to every frame of x [B, C, T, H, W] independently.
torch::Tensor GroupNormPerFrame(torch::nn::GroupNorm& norm, const torch::Tensor& x);

struct CausalResBlockOptions {
  CausalResBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
};

class CausalResBlockImpl : public torch::nn::Cloneable<CausalResBlockImpl> {
 public:
  explicit CausalResBlockImpl(const CausalResBlockOptions& options);
  void reset() override;
  // [B, C_in, T, H, W] -> [B, C_out, T, H, W]; `cache` as in CausalConv3d.
  torch::Tensor forward(const torch::Tensor& x, CausalConvCache* cache = nullptr);

  CausalResBlockOptions options;
  torch::nn::GroupNorm norm1{nullptr};
  CausalConv3d conv1{nullptr};
  torch::nn::GroupNorm norm2{nullptr};
  CausalConv3d conv2{nullptr};
  torch::nn::Conv3d skip{nullptr};  // null when widths match
};
TORCH_MODULE(CausalResBlock);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CAUSAL_RES_BLOCK_H_

// Residual block of the causal VAE: ChannelRmsNorm -> SiLU -> CausalConv3d, twice, plus a
// 1x1x1 projection on the skip path when the width changes. The norm works per voxel
// (over channels only), so no operation mixes time steps except the causal convolutions:
// this is what keeps the whole VAE causal in time.
//
// Thread-safety: as torch::nn::Module (concurrent forward() only without mutation).
#ifndef VIDSERVE_MODEL_CAUSAL_RES_BLOCK_H_
#define VIDSERVE_MODEL_CAUSAL_RES_BLOCK_H_

#include <torch/torch.h>

#include "model/causal_conv3d.h"
#include "model/output_norm_silu.h"

namespace vidserve {

// RMS normalisation over the channels of each voxel of x [B, C, T, H, W], with a learned
// per-channel gain and bias: y = x / sqrt(mean_c(x^2) + eps) * gain + bias.
// Why not GroupNorm per frame (the usual image-VAE choice): at the widths of the small
// presets (32 channels -> 32 groups) it is an instance norm, which subtracts each frame's
// spatial mean per channel and so erases exactly what a flat background is, its colour.
// Measured: a VAE with it could not get past ~12 dB PSNR in 600 steps. A per-voxel norm
// keeps spatially constant signal, is causal by construction and costs no statistics
// across the frame (as in recent causal video VAEs).
class ChannelRmsNormImpl : public torch::nn::Cloneable<ChannelRmsNormImpl> {
 public:
  explicit ChannelRmsNormImpl(int64_t channels, double eps = 1e-6);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  // silu(forward(x)), which is how the VAE uses every norm: in one pass
  // (model/channel_rms_norm_silu.h) when `fused` is set, no gradient is needed and the
  // kernel takes x; otherwise LibTorch's ops.
  torch::Tensor ForwardSilu(const torch::Tensor& x);
  // This norm as a value, for a convolution that applies it to its own output
  // (CausalConv3d::ForwardWithOutputNorm).
  OutputNormSilu AsOutputNormSilu() const { return {weight, bias, eps}; }

  int64_t channels;
  double eps;
  // Not a parameter: VideoModel::Options::fused_norm sets it on every norm of the VAE.
  bool fused = true;
  torch::Tensor weight;  // [C], starts at 1
  torch::Tensor bias;    // [C], starts at 0
};
TORCH_MODULE(ChannelRmsNorm);

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
  ChannelRmsNorm norm1{nullptr};
  CausalConv3d conv1{nullptr};
  ChannelRmsNorm norm2{nullptr};
  CausalConv3d conv2{nullptr};
  torch::nn::Conv3d skip{nullptr};  // null when widths match
  // Not a parameter: on CUDA without a gradient, a skip projection into at most 16 channels
  // and the residual add run as one kernel (model/cuda/skip_projection_add.h).
  // VideoModel::Options::decode_direct_conv sets it on the decoders' blocks.
  bool fused_skip = true;
  // Not a parameter: norm2 (with `fused` set) applied by conv1's direct CUDA kernel to its
  // output, conv1's only reader (CausalConv3d::ForwardWithOutputNorm), where it can.
  // VideoModel::Options::decode_fold_norms sets it on the decoders' blocks.
  bool fold_norm = false;
};
TORCH_MODULE(CausalResBlock);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CAUSAL_RES_BLOCK_H_

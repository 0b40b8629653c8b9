// silu(ChannelRmsNorm(x)) in one pass over x, for inference: every VAE norm is followed by a
// SiLU, and LibTorch runs the pair as eight kernels (square, mean, add, rsqrt, three
// elementwise ops, silu), each a full pass over the activation. On 2 CPU cores that made
// the thin decoder's 8-channel norms cost as much as its convolutions.
// ChannelRmsNormImpl::ForwardSilu (model/causal_res_block.h) routes here when no gradient
// is needed; the LibTorch composition stays the fallback and the tests' oracle.
// Thread-safety: stateless; safe to call from any thread (on CUDA, each call launches on
// that thread's current stream and is CUDA-graph capturable).
#ifndef VIDSERVE_MODEL_CHANNEL_RMS_NORM_SILU_H_
#define VIDSERVE_MODEL_CHANNEL_RMS_NORM_SILU_H_

#include <torch/torch.h>

namespace vidserve {

// True when FusedChannelRmsNormSilu takes these inputs: weight and bias [C] on x's device;
// on the CPU x [B, C, ...] float32, contiguous or a dense [B, C, T, H, W] whose H x W frames
// are contiguous (CausalConv3d's conv2d-over-frames output), weight and bias float32; on
// CUDA (builds with CUDA code only) x contiguous or channels-last 3D, float32, float16 or
// bfloat16, and weight and bias of any floating type.
bool FusedChannelRmsNormSiluSupported(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias);

// y = silu(x / sqrt(mean_c(x^2) + eps) * weight + bias), statistics and arithmetic in
// float32, y in x's dtype, shape and strides. REQUIRES: FusedChannelRmsNormSiluSupported(...).
// No autograd: callers take the LibTorch path when a gradient is needed.
torch::Tensor FusedChannelRmsNormSilu(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias, double eps);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CHANNEL_RMS_NORM_SILU_H_

// Conv3d that is causal in time: output frame t only sees input frames <= t (times the
// temporal stride). The past is padded with k_t-1 copies of the first frame, the future is
// never padded; space is zero-padded symmetrically ("same" size at stride 1).
// Used by the VAE so that a long video can be processed in chunks and earlier latents do
// not change when later frames do.
//
// Thread-safety: like any torch::nn::Module, forward() may be called concurrently only
// when no thread mutates the parameters.
#ifndef VIDSERVE_MODEL_CAUSAL_CONV3D_H_
#define VIDSERVE_MODEL_CAUSAL_CONV3D_H_

#include <torch/torch.h>

#include <unordered_map>

#include "model/output_norm_silu.h"

namespace vidserve {

// State carried between consecutive time chunks when a long video is processed chunk by
// chunk: for each CausalConv3d, the frames of its padded input that the next output frame
// still needs (temporal_kernel-1 at stride 1; 1 at stride 2 with kernel 3). Chunked output
// then equals the one-shot output.
// Not thread-safe; one cache per video being processed.
struct CausalConvCache {
  std::unordered_map<const void*, torch::Tensor> past_frames;  // keyed by the conv module
  bool empty() const { return past_frames.empty(); }
};

// How forward() runs the convolution.
enum class Conv3dLowering {
  // conv3d, except on CPU for inputs below oneDNN's 3D threshold (see forward()), and on
  // CUDA without a gradient for narrow layers the direct kernel takes
  // (model/cuda/narrow_conv3d.h: 3x3x3, stride 1, at most 16 output channels).
  kAuto,
  // As kAuto, but never the direct CUDA kernel: LibTorch's convolutions only (the baseline
  // vidserve-bench vae --direct-conv measures the kernel against).
  kLibTorchOnly,
  // Always conv2d over frames folded into the batch, the temporal taps stacked on channels,
  // so CUDA runs cuDNN's 2D kernels instead of its 3D ones (slower on an H100 at every size
  // vidserve-bench vae --conv2d measured; kept for other GPUs).
  kConv2dOverFrames,
};

struct CausalConv3dOptions {
  CausalConv3dOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, temporal_kernel) = 3;
  TORCH_ARG(int64_t, spatial_kernel) = 3;  // odd
  // 1 or 2. With kernel 3 and front pad 2, stride 2 maps T -> 1 + (T-1)/2 (T odd), so the
  // first frame keeps a latent of its own.
  TORCH_ARG(int64_t, temporal_stride) = 1;
  TORCH_ARG(int64_t, spatial_stride) = 1;  // 1 or 2 (H -> H/2 for even H)
};

class CausalConv3dImpl : public torch::nn::Cloneable<CausalConv3dImpl> {
 public:
  explicit CausalConv3dImpl(const CausalConv3dOptions& options);
  void reset() override;
  // x: [B, C_in, T, H, W] -> [B, C_out, T_out, H_out, W_out]. With a cache, x continues
  // the frames of the previous call (REQUIRES: cached + new frames >= temporal_kernel).
  torch::Tensor forward(const torch::Tensor& x, CausalConvCache* cache = nullptr);

  CausalConv3dOptions options;
  torch::nn::Conv3d conv{nullptr};
  // Set before use (not while another thread runs forward()).
  Conv3dLowering lowering = Conv3dLowering::kAuto;

  // Whether the layer may run in the direct CUDA kernel at all (a CUDA build, kAuto
  // lowering, 3x3x3 at stride 1, few enough output channels): its inputs decide the rest.
  // Otherwise forward() always runs LibTorch's convolution (cuDNN on CUDA).
  bool MayUseDirectKernel() const;
  // Whether forward() hands a contiguous x to the direct CUDA kernel (see
  // Conv3dLowering::kAuto; a strided x is first made contiguous when the layer fits).
  bool UsesDirectKernel(const torch::Tensor& x, const torch::Tensor* past) const;
  // What forward() hands the direct kernel, which reads NCDHW: x, or a contiguous copy of a
  // strided x when the layer fits that kernel (a strided x would reach cuDNN through a
  // padded copy anyway).
  torch::Tensor ContiguousForDirectKernel(const torch::Tensor& x) const;

  // forward() of x upsampled 2x by nearest neighbour, causally in time (a video's first
  // chunk: vae.h CausalTemporalUpsample) and/or in space, with the upsampling folded into
  // the direct CUDA kernel's reads, so the upsampled input is never written: one kernel
  // where there were two copies and the convolution. A whole clip only (no cache). Whether
  // it can: FoldsUpsampling(x, ...) (a CUDA build, the direct kernel, a contiguous x; with
  // `norm`, also what FoldsOutputNorm needs), and then with `norm` its output goes through
  // it as in ForwardWithOutputNorm.
  bool FoldsUpsampling(const torch::Tensor& x, bool time, bool space,
                       const OutputNormSilu* norm = nullptr) const;
  torch::Tensor ForwardFoldingUpsampling(const torch::Tensor& x, bool time, bool space,
                                         const OutputNormSilu* norm = nullptr);

  // silu(norm(forward(x, cache))), the norm applied by the direct CUDA kernel to its output
  // before writing it: one kernel where there were two, for a layer whose output only that
  // norm reads (a res block's first convolution; the decoder's last upsampling one). Whether
  // it can: FoldsOutputNorm (the direct kernel's CUDA-core path, a contiguous x; see
  // model/cuda/narrow_conv3d.h); the result matches the norm's own kernel up to float
  // rounding.
  bool FoldsOutputNorm(const torch::Tensor& x, const OutputNormSilu& norm,
                       CausalConvCache* cache) const;
  torch::Tensor ForwardWithOutputNorm(const torch::Tensor& x, const OutputNormSilu& norm,
                                      CausalConvCache* cache);

 private:
  // The same convolution as conv2d over frames folded into the batch, temporal taps
  // stacked on channels. Used on CPU for small/narrow inputs, which LibTorch would send to
  // a slow unblocked 3D kernel (the 2D form reaches oneDNN), and everywhere under
  // Conv3dLowering::kConv2dOverFrames.
  torch::Tensor ForwardAsConv2d(const torch::Tensor& padded);
  // The frames `cache` holds for this layer, or null.
  const torch::Tensor* PastFrames(CausalConvCache* cache) const;
  // The direct kernel on a contiguous x (UsesDirectKernel), with an optional output norm;
  // keeps the next chunk's past in `cache`.
  torch::Tensor ForwardDirect(const torch::Tensor& x, const torch::Tensor* past,
                              CausalConvCache* cache, const OutputNormSilu* norm);
  // x with its causal past in front: the cached frames, or copies of x's first frame.
  torch::Tensor CausallyPadded(const torch::Tensor& x, const torch::Tensor* past) const;
  // Stores in `cache` the frames of `padded` (or of any input ending with the same frames)
  // that the next chunk's first output still needs.
  void KeepPastFrames(const torch::Tensor& padded, CausalConvCache* cache);
  // The layer-level half of UsesDirectKernel (MayUseDirectKernel, a CUDA x, no gradient):
  // whether copying a strided x could pay off.
  bool LayerFitsDirectKernel(const torch::Tensor& x) const;
};
TORCH_MODULE(CausalConv3d);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CAUSAL_CONV3D_H_

// Internal interface between the LibTorch wrapper (narrow_conv3d.cc, host compiler) and the
// CUDA kernel (narrow_conv3d.cu, nvcc). No torch headers here, so nvcc never parses them.
#ifndef VIDSERVE_MODEL_CUDA_NARROW_CONV3D_KERNELS_H_
#define VIDSERVE_MODEL_CUDA_NARROW_CONV3D_KERNELS_H_

#include <cstdint>

#include <cuda_runtime_api.h>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {
namespace cuda_kernels {

// The kernel's shape limits: a 3x3x3 kernel at stride 1, at most 16 output channels, widths
// that are a multiple of 4 (each thread computes 4 neighbouring outputs along W), and the
// weights, padded to 4, 8 or 16 output channels, in 48 KiB of shared memory (float32).
constexpr int kNarrowConvKernel = 3;
constexpr int kNarrowConvMaxOutChannels = 16;
constexpr int kNarrowConvOutputsPerThread = 4;
constexpr int64_t kNarrowConvMaxSharedBytes = 48 * 1024;

// Output channels as the kernel pads them (4, 8 or 16; 0 when above the limit).
int NarrowConvPaddedOutChannels(int out_channels);

struct NarrowConv3dArgs {
  KernelDtype dtype = KernelDtype::kFloat32;  // of x, past, weight, bias and out
  const void* x = nullptr;       // [B, Cin, T, H, W], contiguous
  const void* past = nullptr;    // [B, Cin, 2, H, W] frames before x's first, or nullptr:
                                 // then x's first frame stands in for them (causal padding)
  const void* weight = nullptr;  // [Cout, Cin, 3, 3, 3], contiguous
  const void* bias = nullptr;    // [Cout] or nullptr
  void* out = nullptr;           // [B, Cout, T, H, W], contiguous
  void* workspace = nullptr;     // tensor cores only: NarrowConvTf32Splits(args) x out's
                                 // size of float32 partial sums when that is above 1
  int batch = 0, in_channels = 0, out_channels = 0, frames = 0, height = 0, width = 0;
  // x before a nearest-neighbour 2x upsampling that the kernels apply as they read it, so
  // the upsampled input is never written (frames, height and width above are then the
  // upsampled sizes: the convolution's). upsample_time: the causal one of a clip's first
  // chunk (vae.h CausalTemporalUpsample): frame t reads x's frame (t + 1) / 2, x has
  // (frames + 1) / 2 frames and frames is odd. upsample_space: pixel (h, w) reads x's
  // (h / 2, w / 2); height and width are even. Either needs past == nullptr.
  bool upsample_time = false;
  bool upsample_space = false;
  // Optional (the CUDA-core kernel, or the tensor-core one when it splits its input channels,
  // NarrowConvTf32Splits > 1: its split-sum kernel applies it): the output passed through an
  // RMS norm over its channels and SiLU before it is written, with the arithmetic of the norm
  // kernel (channel_rms_norm_silu.cu) on the values this kernel would otherwise write:
  // out = silu(v rsqrt(mean_c v^2 + eps) weight + bias), v = conv + bias rounded to the
  // dtype. norm_weight and norm_bias are float32 [Cout].
  const float* norm_weight = nullptr;
  const float* norm_bias = nullptr;
  float norm_eps = 0.0f;
};

// Whether args' upsampling fields are consistent (none, or no past and the sizes above).
inline bool NarrowConvUpsamplingValid(const NarrowConv3dArgs& a) {
  if (!a.upsample_time && !a.upsample_space) return true;
  return a.past == nullptr && (!a.upsample_time || a.frames % 2 == 1) &&
         (!a.upsample_space || (a.height % 2 == 0 && a.width % 2 == 0));
}

// One launch on `stream`: out = conv3d(causally padded x, weight) + bias, zero spatial
// padding, float32 accumulation on CUDA cores. Returns the launch error, or
// cudaErrorInvalidValue for shapes outside the limits above.
cudaError_t LaunchNarrowCausalConv3d(const NarrowConv3dArgs& args, cudaStream_t stream);

// The same convolution on tensor cores (narrow_conv3d_tf32.cu; the device must be sm_80 or
// newer): float32 only, values rounded to TF32, float32 accumulation. Any Cin, H and W;
// Cout <= kNarrowConvMaxOutChannels.
cudaError_t LaunchNarrowCausalConv3dTf32(const NarrowConv3dArgs& args, cudaStream_t stream);

// Into how many groups the tensor-core path splits the input channels of `args` (1: none);
// above 1 it needs args.workspace. Depends only on the shapes in `args`.
int NarrowConvTf32Splits(const NarrowConv3dArgs& args);

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_NARROW_CONV3D_KERNELS_H_

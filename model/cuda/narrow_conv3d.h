// Direct CUDA kernel for causal 3x3x3 convolutions with few output channels (compiled only
// when CUDA is found: VIDSERVE_HAVE_CUDA). CausalConv3d (model/causal_conv3d.h) routes to it
// on CUDA when no gradient is needed and NarrowCausalConv3dSupported says yes; LibTorch's
// conv3d on the causally padded input stays the fallback and the oracle in the tests.
// Thread-safety: stateless; safe to call from any thread (each call launches on that
// thread's current CUDA stream).
#ifndef VIDSERVE_MODEL_CUDA_NARROW_CONV3D_H_
#define VIDSERVE_MODEL_CUDA_NARROW_CONV3D_H_

#include <torch/torch.h>

#include "model/output_norm_silu.h"

namespace vidserve {

// A nearest-neighbour 2x upsampling that the kernel applies to x as it reads it, so the
// upsampled input is never written: the convolution is that of the upsampled x. time: the
// causal one of a video's first chunk (vae.h CausalTemporalUpsample, T -> 2T - 1); space:
// H, W -> 2H, 2W. Only without a past (a clip decoded whole).
struct NarrowConvUpsampling {
  bool time = false;
  bool space = false;
  bool any() const { return time || space; }
  // The upsampled sizes of x's frames and of its rows or columns.
  int64_t Frames(int64_t x_frames) const { return time ? 2 * x_frames - 1 : x_frames; }
  int64_t Pixels(int64_t x_pixels) const { return space ? 2 * x_pixels : x_pixels; }
};

// Whether x's convolution with `weight` runs on tensor cores (narrow_conv3d_tf32.cu):
// float32 on sm_80 or newer when LibTorch allows cuDNN TF32 convolutions
// (at::globalContext().allowTF32CuDNN(), on by default, so the kernel rounds no more than
// the cuDNN convolutions beside it), for the layers where it measured faster: 9-16 output
// channels. Otherwise (and for float16/bfloat16) the CUDA-core kernel runs
// (narrow_conv3d.cu), with exact products.
bool NarrowCausalConv3dUsesTensorCores(const torch::Tensor& x, const torch::Tensor& weight);

// True when the kernel takes these inputs: x [B, Cin, T, H, W] a contiguous (NCDHW) CUDA
// tensor of float32, float16 or bfloat16; weight [Cout, Cin, 3, 3, 3] of x's dtype and device
// with Cout <= 16; `past` undefined or [B, Cin, 2, H, W] like x. Without tensor cores also W
// a multiple of 4 and Cin * Cout (padded to 4, 8 or 16) * 27 floats in 48 KiB. Strides are
// the caller's to check (the kernel is stride 1).
bool NarrowCausalConv3dSupported(const torch::Tensor& x, const torch::Tensor& past,
                                 const torch::Tensor& weight,
                                 NarrowConvUpsampling upsampling = {});

// Whether the kernel can also apply an output norm over the Cout channels
// (model/output_norm_silu.h) before it writes its output, for these inputs
// (with `upsampling`, the convolution of the upsampled x): the CUDA-core path (each thread
// holds every output channel of its voxels), or the tensor-core path when it splits the
// input channels (a deep input on few tiles: the sum of the splits holds them; unsplit, its
// lanes each hold a few), and a norm of Cout channels on x's device.
bool NarrowCausalConv3dFoldsNorm(const torch::Tensor& x, const torch::Tensor& weight,
                                 const OutputNormSilu& norm,
                                 NarrowConvUpsampling upsampling = {});

// conv3d(cat(past, x) over time, weight, bias), zero-padded by 1 in H and W, "same" size:
// [B, Cout, T, H, W] in x's dtype. Without `past`, x's first frame stands in for the two
// frames before it (CausalConv3d's padding). `bias` may be undefined. One kernel launch on
// the current stream (CUDA-graph capturable); float32 accumulation, TF32 products where
// NarrowCausalConv3dUsesTensorCores says so. With `upsampling`, the convolution of the
// upsampled x (its frames, height and width), the same values as upsampling first.
// With `norm` (REQUIRES NarrowCausalConv3dFoldsNorm), silu(norm(that convolution)).
torch::Tensor NarrowCausalConv3dCuda(const torch::Tensor& x, const torch::Tensor& past,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     NarrowConvUpsampling upsampling = {},
                                     const OutputNormSilu* norm = nullptr);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_NARROW_CONV3D_H_

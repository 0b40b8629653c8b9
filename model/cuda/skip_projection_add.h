// A residual block's output when its skip path is a 1x1x1 projection into few channels:
// residual + conv3d(x, weight, bias) in one CUDA kernel (compiled only when CUDA is found:
// VIDSERVE_HAVE_CUDA). CausalResBlock (model/causal_res_block.h) routes here on CUDA when no
// gradient is needed and SkipProjectionAddCudaSupported says yes; LibTorch's conv3d and add
// stay the fallback. The products are exact float32 (cuDNN's 1x1x1 convolution may use
// TF32), accumulated in float32, rounded once to x's dtype.
// Thread-safety: stateless; each call launches on the calling thread's current stream and
// is CUDA-graph capturable.
#ifndef VIDSERVE_MODEL_CUDA_SKIP_PROJECTION_ADD_H_
#define VIDSERVE_MODEL_CUDA_SKIP_PROJECTION_ADD_H_

#include <torch/torch.h>

namespace vidserve {

// x [B, Cin, ...] a contiguous CUDA tensor of float32, float16 or bfloat16 with
// 1 <= Cin <= 512; weight [Cout, Cin, 1, 1, 1] (or [Cout, Cin]) of any floating type on x's
// device with 1 <= Cout <= 16; bias undefined or [Cout]; residual contiguous, x's dtype, and
// x's shape with Cout channels.
bool SkipProjectionAddCudaSupported(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, const torch::Tensor& residual);

// residual + conv3d(x, weight, bias) (a 1x1x1 convolution: per voxel, weight times its
// channel vector), a new tensor shaped like `residual`.
// REQUIRES: SkipProjectionAddCudaSupported(...).
torch::Tensor SkipProjectionAddCuda(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, const torch::Tensor& residual);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_SKIP_PROJECTION_ADD_H_

// A ChannelRmsNorm and the SiLU after it, as a value: the norm's weight and bias [C] and eps.
// A convolution whose output only that norm reads can apply it to its output itself
// (CausalConv3d::ForwardWithOutputNorm; on CUDA the narrow kernel's epilogue,
// model/cuda/narrow_conv3d.h), one kernel where there were two. No state; copy freely.
#ifndef VIDSERVE_MODEL_OUTPUT_NORM_SILU_H_
#define VIDSERVE_MODEL_OUTPUT_NORM_SILU_H_

#include <torch/torch.h>

namespace vidserve {

// silu(x rsqrt(mean over channels of x^2 + eps) weight + bias), per voxel.
struct OutputNormSilu {
  torch::Tensor weight;  // [C], any floating dtype
  torch::Tensor bias;    // [C]
  double eps = 1e-6;
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_OUTPUT_NORM_SILU_H_

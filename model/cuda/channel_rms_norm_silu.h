// CUDA half of model/channel_rms_norm_silu.h (compiled only when CUDA is found:
// VIDSERVE_HAVE_CUDA): one kernel per call, so a norm and its SiLU cost one read and one
// write of the activation instead of eight passes.
// Thread-safety: stateless; each call launches on the calling thread's current stream.
#ifndef VIDSERVE_MODEL_CUDA_CHANNEL_RMS_NORM_SILU_H_
#define VIDSERVE_MODEL_CUDA_CHANNEL_RMS_NORM_SILU_H_

#include <torch/torch.h>

namespace vidserve {

// x a CUDA tensor [B, C, ...] of float32, float16 or bfloat16, contiguous or (5-D)
// channels-last, the output then channels-last too; weight and bias
// [C] of a floating type on x's device; B * voxels and C within int32.
bool ChannelRmsNormSiluCudaSupported(const torch::Tensor& x, const torch::Tensor& weight,
                                     const torch::Tensor& bias);

// As FusedChannelRmsNormSilu. REQUIRES: ChannelRmsNormSiluCudaSupported(x, weight, bias).
torch::Tensor ChannelRmsNormSiluCuda(const torch::Tensor& x, const torch::Tensor& weight,
                                     const torch::Tensor& bias, double eps);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_CHANNEL_RMS_NORM_SILU_H_

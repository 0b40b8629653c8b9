// Internal interface between the LibTorch wrapper (channel_rms_norm_silu.cc, host compiler)
// and the kernel (channel_rms_norm_silu.cu, nvcc). No torch headers here.
#ifndef VIDSERVE_MODEL_CUDA_CHANNEL_RMS_NORM_SILU_KERNELS_H_
#define VIDSERVE_MODEL_CUDA_CHANNEL_RMS_NORM_SILU_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {
namespace cuda_kernels {

struct ChannelRmsNormSiluArgs {
  KernelDtype dtype = KernelDtype::kFloat32;  // of x and out
  const void* x = nullptr;                    // [B, C, S], contiguous
  const float* weight = nullptr;              // [C]
  const float* bias = nullptr;                // [C]
  void* out = nullptr;                        // [B, C, S], contiguous
  int64_t batch = 0, channels = 0, spatial = 0;
  // x and out laid out [B, S, C] instead (channels-last: each voxel's channels contiguous).
  bool channels_last = false;
  float eps = 1e-6f;
};

// One launch on `stream`. Returns the launch error (cudaErrorInvalidValue for empty or
// oversized shapes).
cudaError_t LaunchChannelRmsNormSilu(const ChannelRmsNormSiluArgs& args, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_CHANNEL_RMS_NORM_SILU_KERNELS_H_

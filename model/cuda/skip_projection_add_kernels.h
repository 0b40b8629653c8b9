// Internal interface between the LibTorch wrapper (skip_projection_add.cc, host compiler)
// and the kernel (skip_projection_add.cu, nvcc). No torch headers here.
#ifndef VIDSERVE_MODEL_CUDA_SKIP_PROJECTION_ADD_KERNELS_H_
#define VIDSERVE_MODEL_CUDA_SKIP_PROJECTION_ADD_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {
namespace cuda_kernels {

// The most output and input channels the kernel takes: every output accumulator lives in
// registers, and the [Cin, Cout] weights (up to 32 KiB) and the input groups' partial sums
// (16 KiB) in the 48 KiB of shared memory a launch gets without opting in.
constexpr int64_t kSkipProjectionMaxOutChannels = 16;
constexpr int64_t kSkipProjectionMaxInChannels = 512;

struct SkipProjectionAddArgs {
  KernelDtype dtype = KernelDtype::kFloat32;  // of x, residual and out
  const void* x = nullptr;                    // [B, Cin, S], contiguous
  const float* weight = nullptr;              // [Cout, Cin], contiguous
  const float* bias = nullptr;                // [Cout], or null
  const void* residual = nullptr;             // [B, Cout, S], contiguous
  void* out = nullptr;                        // [B, Cout, S], contiguous
  int64_t batch = 0, in_channels = 0, out_channels = 0, spatial = 0;
};

// One launch on `stream`. Returns the launch error (cudaErrorInvalidValue for empty or
// unsupported shapes).
cudaError_t LaunchSkipProjectionAdd(const SkipProjectionAddArgs& args, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_SKIP_PROJECTION_ADD_KERNELS_H_

// LibTorch scalar types <-> cuda_kernels::KernelDtype, for the kernels' wrappers.
#ifndef VIDSERVE_MODEL_CUDA_KERNEL_DTYPE_TORCH_H_
#define VIDSERVE_MODEL_CUDA_KERNEL_DTYPE_TORCH_H_

#include <torch/torch.h>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {

// float32, float16 and bfloat16: the types the kernels are instantiated for.
inline bool IsKernelDtype(torch::ScalarType type) {
  return type == torch::kFloat || type == torch::kHalf || type == torch::kBFloat16;
}

// REQUIRES: IsKernelDtype(type).
inline cuda_kernels::KernelDtype ToKernelDtype(torch::ScalarType type) {
  switch (type) {
    case torch::kHalf: return cuda_kernels::KernelDtype::kFloat16;
    case torch::kBFloat16: return cuda_kernels::KernelDtype::kBFloat16;
    default: return cuda_kernels::KernelDtype::kFloat32;
  }
}

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_KERNEL_DTYPE_TORCH_H_

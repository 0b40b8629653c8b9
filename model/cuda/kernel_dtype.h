// Element types vidserve's CUDA kernels take, shared by their LibTorch wrappers (host
// compiler) and the kernels (nvcc). No torch headers here, so nvcc never parses them.
#ifndef VIDSERVE_MODEL_CUDA_KERNEL_DTYPE_H_
#define VIDSERVE_MODEL_CUDA_KERNEL_DTYPE_H_

namespace vidserve {
namespace cuda_kernels {

enum class KernelDtype { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2 };

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_KERNEL_DTYPE_H_

// Device-side conversions between the kernels' element types and float32, in which every
// vidserve kernel accumulates. nvcc only.
#ifndef VIDSERVE_MODEL_CUDA_FLOAT_CONVERSIONS_CUH_
#define VIDSERVE_MODEL_CUDA_FLOAT_CONVERSIONS_CUH_

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {
namespace cuda_kernels {

// Host side: calls launch(T()) with T the element type `dtype` names (float, __half or
// __nv_bfloat16), so each kernel's launcher writes its dtype switch once:
//   return DispatchKernelDtype(a.dtype, [&](auto t) { return Launch<decltype(t)>(a, stream); });
template <typename LaunchForType>
cudaError_t DispatchKernelDtype(KernelDtype dtype, LaunchForType&& launch) {
  switch (dtype) {
    case KernelDtype::kFloat32: return launch(float());
    case KernelDtype::kFloat16: return launch(__half());
    case KernelDtype::kBFloat16: return launch(__nv_bfloat16());
  }
  return cudaErrorInvalidValue;
}

template <typename T>
__device__ __forceinline__ float ToFloat(T x);
template <>
__device__ __forceinline__ float ToFloat<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ float ToFloat<__half>(__half x) {
  return __half2float(x);
}
template <>
__device__ __forceinline__ float ToFloat<__nv_bfloat16>(__nv_bfloat16 x) {
  return __bfloat162float(x);
}

// Round to nearest even.
template <typename T>
__device__ __forceinline__ T FromFloat(float x);
template <>
__device__ __forceinline__ float FromFloat<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __half FromFloat<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_FLOAT_CONVERSIONS_CUH_

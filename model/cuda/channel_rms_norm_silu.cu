// One thread per voxel: the sum of squares over its channels, then each channel normalised,
// scaled, shifted and passed through SiLU. A warp's 32 voxels are neighbours in memory,
// so every channel's load and store is coalesced; the second pass over the channels reads
// what the first brought into the caches.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "model/cuda/channel_rms_norm_silu_kernels.h"
#include "model/cuda/float_conversions.cuh"

namespace vidserve {
namespace cuda_kernels {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    ChannelRmsNormSiluKernel(const T* __restrict__ x, const float* __restrict__ weight,
                             const float* __restrict__ bias, T* __restrict__ out, int channels,
                             int spatial, int voxels, float inv_channels, float eps) {
  for (int v = blockIdx.x * kThreads + threadIdx.x; v < voxels; v += gridDim.x * kThreads) {
    const int item = v / spatial;
    const int64_t base = static_cast<int64_t>(item) * channels * spatial + (v - item * spatial);
    const T* xv = x + base;
    float sum_sq = 0.0f;
    for (int c = 0; c < channels; ++c) {
      const float value = ToFloat<T>(xv[static_cast<int64_t>(c) * spatial]);
      sum_sq += value * value;
    }
    const float scale = rsqrtf(sum_sq * inv_channels + eps);
    T* ov = out + base;
    for (int c = 0; c < channels; ++c) {
      const int64_t offset = static_cast<int64_t>(c) * spatial;
      const float y = ToFloat<T>(xv[offset]) * scale * __ldg(weight + c) + __ldg(bias + c);
      ov[offset] = FromFloat<T>(y / (1.0f + expf(-y)));
    }
  }
}

template <typename T>
cudaError_t Launch(const ChannelRmsNormSiluArgs& a, cudaStream_t stream) {
  const int voxels = static_cast<int>(a.batch * a.spatial);
  // A grid-stride loop: enough blocks to fill the GPU many times over, capped for huge
  // activations.
  const int blocks = static_cast<int>(
      (static_cast<int64_t>(voxels) + kThreads - 1) / kThreads < 65536
          ? (static_cast<int64_t>(voxels) + kThreads - 1) / kThreads
          : 65536);
  ChannelRmsNormSiluKernel<T><<<blocks, kThreads, 0, stream>>>(
      static_cast<const T*>(a.x), a.weight, a.bias, static_cast<T*>(a.out),
      static_cast<int>(a.channels), static_cast<int>(a.spatial), voxels,
      1.0f / static_cast<float>(a.channels), a.eps);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchChannelRmsNormSilu(const ChannelRmsNormSiluArgs& a, cudaStream_t stream) {
  constexpr int64_t kIntMax = 2147483647;
  if (a.batch <= 0 || a.channels <= 0 || a.spatial <= 0 || a.batch * a.spatial > kIntMax ||
      a.channels > kIntMax) {
    return cudaErrorInvalidValue;
  }
  switch (a.dtype) {
    case KernelDtype::kFloat32:
      return Launch<float>(a, stream);
    case KernelDtype::kFloat16:
      return Launch<__half>(a, stream);
    case KernelDtype::kBFloat16:
      return Launch<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda_kernels
}  // namespace vidserve

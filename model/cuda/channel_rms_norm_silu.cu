// A block is 256 threads: V neighbouring voxels x G channel groups (V * G = 256, G = 1, 2, 4
// or 8, about one group per 16 channels). Each thread sums the squares of every G-th
// channel of its voxel, the block adds the G partial sums in shared memory, and each thread
// then normalises, scales, shifts and passes through SiLU its channels. A warp covers 32
// neighbouring voxels of one group, so every load and store is a coalesced 128-byte row.
// Splitting channels over threads is what a 128-channel norm over few voxels needs (the
// latent-near stages: 2,560 voxels at 17x64x64 x 8, where one thread per voxel running the
// 128 channels serially took 37 us on the H200, as long as LibTorch's eight kernels; 8
// groups take 10 us); an 8-channel norm over 557k voxels runs best with one thread per
// voxel and no exchange (17-21 us, against 46 us with 8 groups).
// Channels-last input ([B, S, C], what the decoders' latent-level cuDNN convolutions write)
// takes another kernel: one warp per voxel, its lanes along the contiguous channels, the sum
// of squares added by shuffles.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "model/cuda/channel_rms_norm_silu_kernels.h"
#include "model/cuda/dependent_launch.cuh"
#include "model/cuda/float_conversions.cuh"
#include "model/cuda/rms_norm_silu.cuh"

namespace vidserve {
namespace cuda_kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxChannelGroups = 8;
constexpr int kChannelsPerGroup = 16;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    ChannelRmsNormSiluKernel(const T* __restrict__ x, const float* __restrict__ weight,
                             const float* __restrict__ bias, T* __restrict__ out, int channels,
                             int spatial, int voxels, int groups, float inv_channels, float eps) {
  __shared__ float partial[kThreads + kMaxChannelGroups];
  WaitForPrecedingKernels();
  LetDependentKernelsStart();
  const int voxels_per_block = kThreads / groups;
  const int lane = threadIdx.x % voxels_per_block, group = threadIdx.x / voxels_per_block;
  for (int64_t tile = blockIdx.x; tile * voxels_per_block < voxels; tile += gridDim.x) {
    const int64_t v = tile * voxels_per_block + lane;
    const bool active = v < voxels;
    int64_t base = 0;
    float sum_sq = 0.0f;
    if (active) {
      const int64_t item = v / spatial;
      base = item * channels * spatial + (v - item * spatial);
      for (int c = group; c < channels; c += groups) {
        const float value = ToFloat<T>(x[base + static_cast<int64_t>(c) * spatial]);
        sum_sq += value * value;
      }
    }
    float total = sum_sq;
    if (groups > 1) {
      partial[group * (voxels_per_block + 1) + lane] = sum_sq;
      __syncthreads();
      total = 0.0f;
      for (int g = 0; g < groups; ++g) total += partial[g * (voxels_per_block + 1) + lane];
    }
    if (active) {
      const float scale = RmsNormScale(total, inv_channels, eps);
      for (int c = group; c < channels; c += groups) {
        const int64_t offset = base + static_cast<int64_t>(c) * spatial;
        out[offset] = FromFloat<T>(
            ScaleShiftSilu(ToFloat<T>(x[offset]), scale, __ldg(weight + c), __ldg(bias + c)));
      }
    }
    if (groups > 1) __syncthreads();  // `partial` is rewritten by the next tile
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    ChannelRmsNormSiluRowsKernel(const T* __restrict__ x, const float* __restrict__ weight,
                                 const float* __restrict__ bias, T* __restrict__ out,
                                 int channels, int64_t rows, float inv_channels, float eps) {
  constexpr int kWarps = kThreads / 32;
  const int lane = threadIdx.x % 32;
  WaitForPrecedingKernels();
  LetDependentKernelsStart();
  // Each warp takes whole rows, so the shuffles below see all 32 lanes.
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarps) {
    const T* in = x + row * channels;
    T* y_row = out + row * channels;
    float sum_sq = 0.0f;
    for (int c = lane; c < channels; c += 32) {
      const float value = ToFloat<T>(in[c]);
      sum_sq += value * value;
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      sum_sq += __shfl_xor_sync(0xffffffffu, sum_sq, offset);
    }
    const float scale = RmsNormScale(sum_sq, inv_channels, eps);
    for (int c = lane; c < channels; c += 32) {
      y_row[c] = FromFloat<T>(
          ScaleShiftSilu(ToFloat<T>(in[c]), scale, __ldg(weight + c), __ldg(bias + c)));
    }
  }
}

template <typename T>
cudaError_t Launch(const ChannelRmsNormSiluArgs& a, cudaStream_t stream) {
  if (a.channels_last) {
    const int64_t rows = a.batch * a.spatial;
    const int64_t blocks_needed = (rows + kThreads / 32 - 1) / (kThreads / 32);
    const int blocks = static_cast<int>(blocks_needed < 65536 ? blocks_needed : 65536);
    return LaunchDependent(ChannelRmsNormSiluRowsKernel<T>, dim3(blocks), dim3(kThreads), 0,
                           stream, static_cast<const T*>(a.x), a.weight, a.bias,
                           static_cast<T*>(a.out), static_cast<int>(a.channels), rows,
                           1.0f / static_cast<float>(a.channels), a.eps);
  }
  const int voxels = static_cast<int>(a.batch * a.spatial);
  int groups = 1;
  while (groups < kMaxChannelGroups && groups * kChannelsPerGroup < a.channels) groups *= 2;
  const int voxels_per_block = kThreads / groups;
  const int64_t tiles = (static_cast<int64_t>(voxels) + voxels_per_block - 1) / voxels_per_block;
  // Tiles beyond the cap are taken by a grid-stride loop.
  const int blocks = static_cast<int>(tiles < 65536 ? tiles : 65536);
  return LaunchDependent(ChannelRmsNormSiluKernel<T>, dim3(blocks), dim3(kThreads), 0, stream,
                         static_cast<const T*>(a.x), a.weight, a.bias, static_cast<T*>(a.out),
                         static_cast<int>(a.channels), static_cast<int>(a.spatial), voxels,
                         groups, 1.0f / static_cast<float>(a.channels), a.eps);
}

}  // namespace

cudaError_t LaunchChannelRmsNormSilu(const ChannelRmsNormSiluArgs& a, cudaStream_t stream) {
  constexpr int64_t kIntMax = 2147483647;
  if (a.batch <= 0 || a.channels <= 0 || a.spatial <= 0 || a.batch * a.spatial > kIntMax ||
      a.channels > kIntMax) {
    return cudaErrorInvalidValue;
  }
  return DispatchKernelDtype(a.dtype, [&](auto t) { return Launch<decltype(t)>(a, stream); });
}

}  // namespace cuda_kernels
}  // namespace vidserve

// out = residual + bias + W x per voxel: a residual block's 1x1x1 skip projection, its bias
// and the residual add in one pass. LibTorch ran them as three kernels, and cuDNN's choice
// for the 1x1x1 convolution into few channels is a GEMM tile that leaves most of the GPU
// idle: the thin decoder's 16->8 skip at 17x64x64 x 8 took 35 us on the H200 under Nsight
// Compute, plus 10 us for the two adds, for 18 MB of traffic (about 6 us at HBM speed).
// This kernel takes 10 us there (BENCHMARKS.md section 3).
//
// A block is 256 threads: V neighbouring voxels x G input-channel groups (G = 1 to 8,
// about one group per 16 input channels, and up to 32 when there are few voxels). Each
// thread keeps its voxel's (at most 16) outputs in registers and sums the products of every
// G-th input channel; the weights sit transposed in shared memory, so a warp reads each one
// as a broadcast while its loads of x run along the voxels, coalesced. The G partial sums
// meet in shared memory. Splitting the inputs is what a deep input over few voxels needs:
// the thin decoder's 128->16 skip (10,240 voxels at 17x64x64 x 8) took 32 us with one thread
// per voxel (40 blocks on 132 SMs) and takes 11 us split.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "model/cuda/dependent_launch.cuh"
#include "model/cuda/float_conversions.cuh"
#include "model/cuda/launch_heuristics.h"
#include "model/cuda/skip_projection_add_kernels.h"

namespace vidserve {
namespace cuda_kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kInputsPerGroup = 16;
constexpr int kMaxInputGroups = 8;
// Fewer voxels than fill the GPU (two blocks per SM) split the inputs further, down to two
// per group and up to 32 groups (8 voxels per block).
constexpr int64_t kMinBlocks = 2 * kTunedSmCount;
constexpr int kMaxInputGroupsForFewVoxels = 32;

// kOut: the output count rounded up to 4, 8 or 16; the padding weights are zero and their
// outputs are never written.
template <typename T, int kOut>
__global__ void __launch_bounds__(kThreads)
    SkipProjectionAddKernel(const T* __restrict__ x, const float* __restrict__ weight,
                            const float* __restrict__ bias, const T* __restrict__ residual,
                            T* __restrict__ out, int in_channels, int out_channels,
                            int64_t spatial, int64_t voxels, int groups) {
  extern __shared__ float shared[];
  float* w_shared = shared;                        // [in_channels][kOut]
  float* partial = shared + in_channels * kOut;    // [groups][kOut][voxels per block]
  const int voxels_per_block = kThreads / groups;
  const int lane = threadIdx.x % voxels_per_block, group = threadIdx.x / voxels_per_block;
  // The weights in their [Cout, Cin] order (coalesced), four loads in flight per thread:
  // a kernel this short is mostly latency. The padding outputs' weights are zeros.
  const int weights = out_channels * in_channels;
  for (int i = threadIdx.x; i < (kOut - out_channels) * in_channels; i += blockDim.x) {
    w_shared[(i % in_channels) * kOut + out_channels + i / in_channels] = 0.0f;
  }
#pragma unroll 4
  for (int i = threadIdx.x; i < weights; i += blockDim.x) {
    w_shared[(i % in_channels) * kOut + i / in_channels] = __ldg(weight + i);
  }
  // The weights are staged while the kernel before this one may still run; x and residual
  // are activations.
  WaitForPrecedingKernels();
  LetDependentKernelsStart();
  __syncthreads();
  for (int64_t tile = blockIdx.x; tile * voxels_per_block < voxels; tile += gridDim.x) {
    const int64_t v = tile * voxels_per_block + lane;
    const bool active = v < voxels;
    const int64_t item = active ? v / spatial : 0, s = active ? v - item * spatial : 0;
    float acc[kOut];
#pragma unroll
    for (int co = 0; co < kOut; ++co) acc[co] = 0.0f;
    if (active) {
      const T* xv = x + item * in_channels * spatial + s;
      // Unrolled by 8 so that eight loads of x are in flight before the first product.
#pragma unroll 8
      for (int ci = group; ci < in_channels; ci += groups) {
        const float value = ToFloat<T>(xv[ci * spatial]);
        const float* w = w_shared + ci * kOut;
#pragma unroll
        for (int co = 0; co < kOut; ++co) acc[co] = fmaf(w[co], value, acc[co]);
      }
    }
    const int64_t out_base = item * out_channels * spatial + s;
    if (groups == 1) {
#pragma unroll
      for (int co = 0; co < kOut; ++co) {
        if (active && co < out_channels) {
          const int64_t offset = out_base + co * spatial;
          const float b = bias != nullptr ? __ldg(bias + co) : 0.0f;
          out[offset] = FromFloat<T>(acc[co] + b + ToFloat<T>(residual[offset]));
        }
      }
      continue;
    }
#pragma unroll
    for (int co = 0; co < kOut; ++co) {
      partial[(group * kOut + co) * voxels_per_block + lane] = acc[co];
    }
    __syncthreads();
    // Thread (voxel, group) finishes outputs group, group + G, ... of its voxel.
    if (active) {
      for (int co = group; co < out_channels; co += groups) {
        float sum = bias != nullptr ? __ldg(bias + co) : 0.0f;
        for (int g = 0; g < groups; ++g) sum += partial[(g * kOut + co) * voxels_per_block + lane];
        const int64_t offset = out_base + co * spatial;
        out[offset] = FromFloat<T>(sum + ToFloat<T>(residual[offset]));
      }
    }
    __syncthreads();  // `partial` is rewritten by the next tile
  }
}

template <typename T, int kOut>
cudaError_t LaunchFor(const SkipProjectionAddArgs& a, cudaStream_t stream) {
  const int64_t voxels = a.batch * a.spatial;
  auto tiles_for = [voxels](int groups) {
    const int voxels_per_block = kThreads / groups;
    return (voxels + voxels_per_block - 1) / voxels_per_block;
  };
  int groups = 1;
  while (groups < kMaxInputGroups && groups * kInputsPerGroup < a.in_channels) groups *= 2;
  while (groups < kMaxInputGroupsForFewVoxels && groups * 4 <= a.in_channels &&
         tiles_for(groups) < kMinBlocks) {
    groups *= 2;
  }
  const int64_t tiles = tiles_for(groups);
  // Tiles beyond the cap are taken by the grid-stride loop.
  const int blocks = static_cast<int>(tiles < 65536 ? tiles : 65536);
  // At most 512 x 16 weights and 256 x 16 partial sums: the 48 KiB a launch gets without
  // opting in.
  const size_t shared_bytes =
      (static_cast<size_t>(a.in_channels) * kOut + (groups > 1 ? kThreads * kOut : 0)) *
      sizeof(float);
  return LaunchDependent(SkipProjectionAddKernel<T, kOut>, dim3(blocks), dim3(kThreads),
                         shared_bytes, stream, static_cast<const T*>(a.x), a.weight, a.bias,
                         static_cast<const T*>(a.residual), static_cast<T*>(a.out),
                         static_cast<int>(a.in_channels), static_cast<int>(a.out_channels),
                         a.spatial, voxels, groups);
}

template <typename T>
cudaError_t LaunchForType(const SkipProjectionAddArgs& a, cudaStream_t stream) {
  if (a.out_channels <= 4) return LaunchFor<T, 4>(a, stream);
  if (a.out_channels <= 8) return LaunchFor<T, 8>(a, stream);
  return LaunchFor<T, 16>(a, stream);
}

}  // namespace

cudaError_t LaunchSkipProjectionAdd(const SkipProjectionAddArgs& a, cudaStream_t stream) {
  if (a.x == nullptr || a.weight == nullptr || a.residual == nullptr || a.out == nullptr ||
      a.batch <= 0 || a.spatial <= 0 || a.in_channels <= 0 ||
      a.in_channels > kSkipProjectionMaxInChannels || a.out_channels <= 0 ||
      a.out_channels > kSkipProjectionMaxOutChannels) {
    return cudaErrorInvalidValue;
  }
  return DispatchKernelDtype(a.dtype,
                             [&](auto t) { return LaunchForType<decltype(t)>(a, stream); });
}

}  // namespace cuda_kernels
}  // namespace vidserve

// Direct causal 3x3x3 convolution for layers with few output channels (the thin decoder's
// pixel stages and every decoder's RGB output), in NCDHW as the decoders keep it.
//
// Why not cuDNN: at 8 or 3 output channels cuDNN's implicit-GEMM kernels run mostly empty
// tiles (BENCHMARKS.md section 3: an 8->3 convolution at 64x64 took longer than a 32->32
// one), and each call adds NCDHW <-> NDHWC transposes and a copy for the causal time
// padding. Here one thread computes 4 neighbouring outputs along W for every output
// channel, reads the 6 input values each tap row needs straight from NCDHW (its 4 columns
// as one vector load, the 2 halo columns from its neighbour lanes by shuffles; the causal
// past comes from `past` or, without it, from the first frame, so no padded copy exists),
// and takes its weights from shared memory as float4s. Accumulation is float32 for every
// element type. (With 6 scalar loads per row the kernel was bound by L1 at 50-67% of its
// throughput on an H200, with the FMA pipe at about a quarter of its rate.)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "model/cuda/dependent_launch.cuh"
#include "model/cuda/float_conversions.cuh"
#include "model/cuda/narrow_conv3d_kernels.h"
#include "model/cuda/rms_norm_silu.cuh"

namespace vidserve {
namespace cuda_kernels {
namespace {

constexpr int K = kNarrowConvKernel;            // 3 taps in t, h and w
constexpr int kTaps = K * K * K;                // 27
constexpr int P = kNarrowConvOutputsPerThread;  // outputs per thread along W
constexpr int kThreads = 128;
static_assert(P == 4, "LoadFour loads 4 neighbouring values");

// v[0..3] = p[0..3] as float32, one vector load (p aligned to 4 elements: the launcher checks).
__device__ __forceinline__ void LoadFour(const float* p, float* v) {
  const float4 f = __ldg(reinterpret_cast<const float4*>(p));
  v[0] = f.x;
  v[1] = f.y;
  v[2] = f.z;
  v[3] = f.w;
}
__device__ __forceinline__ void LoadFour(const __half* p, float* v) {
  const uint2 u = __ldg(reinterpret_cast<const uint2*>(p));
  const float2 lo = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
  const float2 hi = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
  v[0] = lo.x;
  v[1] = lo.y;
  v[2] = hi.x;
  v[3] = hi.y;
}
// v[0..1] = p[0..1] as float32, one vector load (p aligned to 2 elements).
__device__ __forceinline__ void LoadTwo(const float* p, float* v) {
  const float2 f = __ldg(reinterpret_cast<const float2*>(p));
  v[0] = f.x;
  v[1] = f.y;
}
__device__ __forceinline__ void LoadTwo(const __half* p, float* v) {
  const unsigned u = __ldg(reinterpret_cast<const unsigned*>(p));
  const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&u));
  v[0] = f.x;
  v[1] = f.y;
}
__device__ __forceinline__ void LoadTwo(const __nv_bfloat16* p, float* v) {
  const unsigned u = __ldg(reinterpret_cast<const unsigned*>(p));
  const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u));
  v[0] = f.x;
  v[1] = f.y;
}
__device__ __forceinline__ void LoadFour(const __nv_bfloat16* p, float* v) {
  const uint2 u = __ldg(reinterpret_cast<const uint2*>(p));
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.y));
  v[0] = lo.x;
  v[1] = lo.y;
  v[2] = hi.x;
  v[3] = hi.y;
}

// Grid: x over the (H * W / P) output groups of a frame, kThreads / splits of them per block,
// y over frames, z over the batch. A thread computes P neighbouring outputs along W for all
// COUT output channels, so each input value it loads feeds COUT x 3 multiply-adds. (An
// earlier layout split the output channels over neighbouring threads, which then loaded the
// same inputs COUT / 4 times over; on the H200 both layouts took the same time over the thin
// decoder's six narrow layers, 440 vs 447 us, so the simpler one stays.) Small frames get
// their threads from `splits`: the block's threads form `splits` slices that each sum every
// splits-th input channel, and the slices' partial sums are added in shared memory (a
// 16->16 layer at 16x16 x 5 frames x 8 went from 71 to 35-41 us).
// Shared memory: the weights as [Cin][27 taps][COUT] float32 (COUT = padded count, zeros
// beyond out_channels), so a tap's weights are COUT / 4 float4s that the whole warp reads
// at one address; afterwards, with splits > 1, the partial sums.
// UP_SPACE: x is the input before a 2x nearest-neighbour upsampling in H and W
// (NarrowConv3dArgs::upsample_space): a thread's 4 columns are 2 of x's, one 2-element load,
// each value used twice. upsample_time (a runtime flag: it only picks the frame) likewise
// for the causal 2x in time.
template <typename T, int COUT, bool UP_SPACE>
__global__ void __launch_bounds__(kThreads)
    NarrowCausalConv3dKernel(const T* __restrict__ x, const T* __restrict__ past,
                             const T* __restrict__ weight, const T* __restrict__ bias,
                             T* __restrict__ out, int cin, int cout, int frames, int height,
                             int width, int splits, bool upsample_time,
                             const float* __restrict__ norm_weight,
                             const float* __restrict__ norm_bias, float norm_inv_channels,
                             float norm_eps) {
  constexpr int kQuads = COUT / 4;
  extern __shared__ float4 shared_weights4[];
  float* shared_weights = reinterpret_cast<float*>(shared_weights4);
  const int weight_count = cin * kTaps * COUT;
  for (int i = threadIdx.x; i < weight_count; i += blockDim.x) {
    const int co = i % COUT;
    const int ci_tap = i / COUT;  // ci * 27 + tap, the same order as in [Cout, Cin, 3, 3, 3]
    shared_weights[i] = co < cout ? ToFloat(weight[co * cin * kTaps + ci_tap]) : 0.0f;
  }
  // The weights are staged while the kernel before this one may still run; x is its output.
  WaitForPrecedingKernels();
  LetDependentKernelsStart();
  __syncthreads();

  const int threads_per_split = kThreads / splits;
  const int split = threadIdx.x / threads_per_split;
  const int local = threadIdx.x - split * threads_per_split;
  const int groups_per_row = width / P;
  const int group = blockIdx.x * threads_per_split + local;
  // No early return: with splits > 1 every thread must reach the barriers below.
  const bool valid = group < height * groups_per_row;
  const int t = blockIdx.y;
  const int b = blockIdx.z;
  const int h = group / groups_per_row;
  const int w0 = (group - h * groups_per_row) * P;
  const int64_t plane = static_cast<int64_t>(height) * width;
  // x's own sizes (the upsampling's input).
  const int in_frames = upsample_time ? (frames + 1) / 2 : frames;
  const int in_width = UP_SPACE ? width / 2 : width;
  const int64_t in_plane = static_cast<int64_t>(UP_SPACE ? height / 2 : height) * in_width;
  auto in_col = [](int w) { return UP_SPACE ? w >> 1 : w; };

  float acc[P][COUT];
#pragma unroll
  for (int p = 0; p < P; ++p) {
#pragma unroll
    for (int c = 0; c < COUT; ++c) acc[p][c] = 0.0f;
  }

  // A warp's lanes hold neighbouring output groups of one slice (a slice is a whole number
  // of warps, or a warp holds whole slices): a group's halo columns w0 - 1 and w0 + P are
  // its neighbours' edge values, passed by shuffles, so each lane loads its P columns as one
  // vector and only lanes at a warp or slice edge load a halo column themselves.
  const int segment = threads_per_split < 32 ? threads_per_split : 32;
  const bool left_lane_is_neighbour = local % segment != 0;
  const bool right_lane_is_neighbour = (local + 1) % segment != 0;
  const bool has_left = w0 > 0, has_right = w0 + P < width;
  // Every lane runs every iteration (the shuffles need the whole warp); lanes past the
  // frame's last group or the last input channel use zeros.
  const int iterations = (cin + splits - 1) / splits;
#pragma unroll 1
  for (int it = 0; it < iterations; ++it) {
    const int ci = split + it * splits;
    const bool channel_ok = valid && ci < cin;
    const int ci_weights = ci < cin ? ci : cin - 1;  // in bounds; its products are zeros
    const T* x_channel =
        x + (static_cast<int64_t>(b) * cin + (channel_ok ? ci : 0)) * in_frames * in_plane;
    const T* past_channel =
        past == nullptr
            ? nullptr
            : past + (static_cast<int64_t>(b) * cin + (channel_ok ? ci : 0)) * (K - 1) * plane;
#pragma unroll
    for (int kt = 0; kt < K; ++kt) {
      // Causal: output frame t sees input frames t-2, t-1, t.
      const int tt = t + kt - (K - 1);
      const int source_frame = upsample_time ? (tt + 1) >> 1 : tt;  // for tt >= 0
      const T* frame = tt >= 0                   ? x_channel + source_frame * in_plane
                       : past_channel != nullptr ? past_channel + (tt + K - 1) * plane
                                                 : x_channel;  // first frame repeated
#pragma unroll
      for (int kh = 0; kh < K; ++kh) {
        const int hh = h + kh - K / 2;
        const bool row_ok = channel_ok && hh >= 0 && hh < height;  // else zero padding
        const T* row = frame + static_cast<int64_t>(row_ok ? (UP_SPACE ? hh >> 1 : hh) : 0) * in_width;
        float v[P + K - 1];
        if (row_ok) {
          if constexpr (UP_SPACE) {
            float pair[2];
            LoadTwo(row + w0 / 2, pair);
            v[1] = v[2] = pair[0];
            v[3] = v[4] = pair[1];
          } else {
            LoadFour(row + w0, v + 1);
          }
        } else {
#pragma unroll
          for (int j = 1; j <= P; ++j) v[j] = 0.0f;
        }
        const float from_left = __shfl_up_sync(0xffffffffu, v[P], 1);
        const float from_right = __shfl_down_sync(0xffffffffu, v[1], 1);
        v[0] = !has_left                ? 0.0f
               : left_lane_is_neighbour ? from_left
               : row_ok                 ? ToFloat(__ldg(row + in_col(w0 - 1)))
                                        : 0.0f;
        v[P + 1] = !has_right                ? 0.0f
                   : right_lane_is_neighbour ? from_right
                   : row_ok                  ? ToFloat(__ldg(row + in_col(w0 + P)))
                                             : 0.0f;
        const float4* w4 = shared_weights4 + ((ci_weights * K + kt) * K + kh) * K * kQuads;
#pragma unroll
        for (int kw = 0; kw < K; ++kw) {
#pragma unroll
          for (int q = 0; q < kQuads; ++q) {
            const float4 wv = w4[kw * kQuads + q];
#pragma unroll
            for (int p = 0; p < P; ++p) {
              const float in = v[p + kw];
              acc[p][4 * q + 0] = fmaf(in, wv.x, acc[p][4 * q + 0]);
              acc[p][4 * q + 1] = fmaf(in, wv.y, acc[p][4 * q + 1]);
              acc[p][4 * q + 2] = fmaf(in, wv.z, acc[p][4 * q + 2]);
              acc[p][4 * q + 3] = fmaf(in, wv.w, acc[p][4 * q + 3]);
            }
          }
        }
      }
    }
  }

  if (splits > 1) {
    constexpr int kAccumulators = P * COUT;
    __syncthreads();  // every slice is done with the weights: reuse their memory
#pragma unroll
    for (int p = 0; p < P; ++p) {
#pragma unroll
      for (int c = 0; c < COUT; ++c) {
        shared_weights[threadIdx.x * kAccumulators + p * COUT + c] = acc[p][c];
      }
    }
    __syncthreads();
    if (split != 0) return;
    for (int s = 1; s < splits; ++s) {
      const float* other = shared_weights + (s * threads_per_split + local) * kAccumulators;
#pragma unroll
      for (int p = 0; p < P; ++p) {
#pragma unroll
        for (int c = 0; c < COUT; ++c) acc[p][c] += other[p * COUT + c];
      }
    }
  }
  if (!valid) return;

  if (bias != nullptr) {
#pragma unroll
    for (int c = 0; c < COUT; ++c) {
      if (c >= cout) break;
      const float bias_value = ToFloat(bias[c]);
#pragma unroll
      for (int p = 0; p < P; ++p) acc[p][c] += bias_value;
    }
  }
  if (norm_weight != nullptr) {
    // The norm kernel's arithmetic on the values written otherwise: each rounded to T, the
    // squares summed over the channels in order, then scale, shift and SiLU. This thread
    // holds every channel of its voxels, so the norm needs no other thread.
#pragma unroll
    for (int p = 0; p < P; ++p) {
      float sum_sq = 0.0f;
#pragma unroll
      for (int c = 0; c < COUT; ++c) {
        if (c >= cout) break;
        acc[p][c] = ToFloat<T>(FromFloat<T>(acc[p][c]));
        sum_sq += acc[p][c] * acc[p][c];
      }
      const float scale = RmsNormScale(sum_sq, norm_inv_channels, norm_eps);
#pragma unroll
      for (int c = 0; c < COUT; ++c) {
        if (c >= cout) break;
        acc[p][c] = ScaleShiftSilu(acc[p][c], scale, __ldg(norm_weight + c), __ldg(norm_bias + c));
      }
    }
  }
  const int64_t offset = (static_cast<int64_t>(t) * height + h) * width + w0;
#pragma unroll
  for (int c = 0; c < COUT; ++c) {
    if (c >= cout) break;
    T* dst = out + (static_cast<int64_t>(b) * cout + c) * frames * plane + offset;
#pragma unroll
    for (int p = 0; p < P; ++p) dst[p] = FromFloat<T>(acc[p][c]);
  }
}

// Input-channel slices per block: doubled (up to 16, and up to Cin) while the launch stays
// under about half the resident threads of an H100/H200, so small frames fill the GPU and
// large ones keep one slice (no reduction).
constexpr int64_t kSplitThreadTarget = 1 << 17;
constexpr int kMaxSplits = 16;

int InputChannelSplits(const NarrowConv3dArgs& a, int64_t groups) {
  const int64_t threads = groups * a.frames * a.batch;
  int splits = 1;
  while (splits < kMaxSplits && 2 * splits <= a.in_channels &&
         2 * splits * threads <= kSplitThreadTarget) {
    splits *= 2;
  }
  return splits;
}

template <typename T, int COUT>
cudaError_t Launch(const NarrowConv3dArgs& a, cudaStream_t stream) {
  const int64_t groups = static_cast<int64_t>(a.height) * (a.width / P);
  const int splits = InputChannelSplits(a, groups);
  const int64_t groups_per_block = kThreads / splits;
  const dim3 grid(static_cast<unsigned>((groups + groups_per_block - 1) / groups_per_block),
                  static_cast<unsigned>(a.frames), static_cast<unsigned>(a.batch));
  const size_t weight_bytes = static_cast<size_t>(a.in_channels) * kTaps * COUT * sizeof(float);
  // At most 128 x 4 x 16 floats = 32 KiB.
  const size_t partial_bytes = splits > 1 ? kThreads * P * COUT * sizeof(float) : 0;
  const size_t shared_bytes = weight_bytes > partial_bytes ? weight_bytes : partial_bytes;
  return LaunchDependent(
      a.upsample_space ? NarrowCausalConv3dKernel<T, COUT, true>
                       : NarrowCausalConv3dKernel<T, COUT, false>,
      grid, dim3(kThreads), shared_bytes, stream, static_cast<const T*>(a.x),
      static_cast<const T*>(a.past), static_cast<const T*>(a.weight),
      static_cast<const T*>(a.bias), static_cast<T*>(a.out), a.in_channels, a.out_channels,
      a.frames, a.height, a.width, splits, a.upsample_time, a.norm_weight, a.norm_bias,
      1.0f / static_cast<float>(a.out_channels), a.norm_eps);
}

template <typename T>
cudaError_t LaunchForType(const NarrowConv3dArgs& a, cudaStream_t stream) {
  switch (NarrowConvPaddedOutChannels(a.out_channels)) {
    case 4: return Launch<T, 4>(a, stream);
    case 8: return Launch<T, 8>(a, stream);
    case 16: return Launch<T, 16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

int NarrowConvPaddedOutChannels(int out_channels) {
  if (out_channels <= 0 || out_channels > kNarrowConvMaxOutChannels) return 0;
  return out_channels <= 4 ? 4 : out_channels <= 8 ? 8 : 16;
}

cudaError_t LaunchNarrowCausalConv3d(const NarrowConv3dArgs& a, cudaStream_t stream) {
  const int cout_padded = NarrowConvPaddedOutChannels(a.out_channels);
  if (cout_padded == 0 || a.in_channels <= 0 || a.batch <= 0 || a.frames <= 0 || a.height <= 0 ||
      a.width <= 0 || a.width % P != 0 || a.frames > 65535 || a.batch > 65535 || a.x == nullptr ||
      a.weight == nullptr || a.out == nullptr || !NarrowConvUpsamplingValid(a) ||
      (a.norm_weight == nullptr) != (a.norm_bias == nullptr) ||
      static_cast<int64_t>(a.in_channels) * kTaps * cout_padded * 4 > kNarrowConvMaxSharedBytes) {
    return cudaErrorInvalidValue;
  }
  // Each thread loads its 4 columns as one vector: x and past aligned to 4 elements (rows
  // are, with W % 4 == 0). LibTorch's allocations are; narrow_conv3d.cc copies other views.
  const uintptr_t vector_bytes = a.dtype == KernelDtype::kFloat32 ? 16 : 8;
  if (reinterpret_cast<uintptr_t>(a.x) % vector_bytes != 0 ||
      reinterpret_cast<uintptr_t>(a.past) % vector_bytes != 0) {
    return cudaErrorInvalidValue;
  }
  return DispatchKernelDtype(a.dtype,
                             [&](auto t) { return LaunchForType<decltype(t)>(a, stream); });
}

}  // namespace cuda_kernels
}  // namespace vidserve

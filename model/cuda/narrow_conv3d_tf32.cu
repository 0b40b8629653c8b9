// Tensor-core path of the narrow causal 3x3x3 convolution (sm_80+): the same convolution as
// narrow_conv3d.cu, as an implicit GEMM on mma.sync m16n8k8 TF32 instructions.
//
// Why: the CUDA-core kernel runs the thin decoder's 8- and 16-wide layers at a fraction of an
// H200's float32 rate, and its weights must fit shared memory whole. Tensor cores give ~7x
// the float32 FMA rate; here each mma is 16 neighbouring outputs along W (M) x 8 output
// channels (N) x 8 input channels of one tap (K), and the input channels are walked in
// chunks of 8, so any Cin fits.
//
// Where it pays (narrow_conv3d.cc routes): only the 16-wide layers, where each staged value
// feeds two 8-channel mma tiles; on the H200 it halved the thin decoder's 16->16 layers and,
// with the split below, took its 128->16 layer from cuDNN's 89 to 61 us at 17x64x64 x 8; it
// lost on 8- and 3-wide ones. It is bound by instruction issue at low occupancy, not by the
// tensor cores (BENCHMARKS.md section 3).
//
// Block: 4 warps over a tile of 16 columns x (4 R) rows of one output frame; each warp owns
// R rows. Per chunk of 8 input channels the block stages in shared memory, with cp.async
// (every thread's copies in flight at once; staging element by element through registers
// measured 21-53% slower per layer), the input tile with its halo (3 frames x (4R + 2) rows
// x 18 columns; the causal past from `past` or x's first frame, zeros outside H and W) and
// the chunk's weights. A warp then loads each input row's A fragment once per (dt, dw) tap
// pair and uses it for the up to three output rows that read it (one per dh), so
// shared-memory loads per mma stay low.
// Bank conflicts: the channel stride is 8 (mod 32), so the 4 channels x 8 columns of an A
// fragment load hit 32 distinct banks; the weights' row stride is 4 (mod 32) for the same
// reason.
//
// Split over input channels: a layer with few tiles and many input channels (the thin
// decoder's 128 -> 16 at 16x16 x 5 frames x 8 clips: 160 blocks of 16 chunks each for 132 SMs
// at 1 row per warp) runs its chunks in `splits` groups on separate blocks, each writing
// float32 partial sums to a workspace that one more kernel adds up with the bias, in a fixed
// order (so results do not depend on scheduling). Split layers keep more rows per warp
// (PlanTiles): the same 128 -> 16 layer took 77 + 4 us at 1 row per warp and 4 splits, and
// 56 + 5 us at 2 rows and 6 splits, on the H200 under Nsight Compute.
// The weights of a full chunk are staged 16 bytes per copy (Cin % 4 == 0).
//
// Precision: float32 inputs and weights are rounded to TF32 (10-bit mantissa, as cuDNN's
// TF32 convolutions do) as they leave shared memory; accumulation is float32. Float32 only:
// cp.async copies 4 bytes at least (half-precision decodes keep the CUDA-core kernel).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "model/cuda/dependent_launch.cuh"
#include "model/cuda/launch_heuristics.h"
#include "model/cuda/narrow_conv3d_kernels.h"
#include "model/cuda/rms_norm_silu.cuh"

namespace vidserve {
namespace cuda_kernels {
namespace {

constexpr int K = kNarrowConvKernel;  // 3 taps in t, h and w
constexpr int kTaps = K * K * K;      // 27
constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kTileW = 16;                 // mma M: outputs along W
constexpr int kChunk = 8;                  // mma K: input channels per step
constexpr int kTileCols = kTileW + K - 1;  // input columns with the halo
// Below about two blocks per SM, fewer rows per warp give more blocks (small frames: the
// thin decoder's 16x16 stage).
constexpr int64_t kMinBlocks = 2 * kTunedSmCount;
// Below about four blocks per SM, the input channels are split over more blocks, each
// taking at least two chunks (so 16-channel inputs are never split: a split costs a
// workspace round trip and a kernel).
constexpr int64_t kSplitBelowBlocks = 4 * kTunedSmCount;
constexpr int kMinChunksPerSplit = 2;

// Shared-memory geometry of the input tile for R output rows per warp (32-bit words).
template <int R>
struct TileShape {
  static constexpr int kRows = kWarps * R;  // output rows per block
  static constexpr int kInRows = kRows + K - 1;
  static constexpr int kFrameStride = kInRows * kTileCols;
  static constexpr int kRaw = K * kFrameStride;
  // 8 (mod 32): an A fragment's 4 channels x 8 columns fall in 32 distinct banks.
  static constexpr int kChannelStride = kRaw + ((8 - kRaw % 32) + 32) % 32;
  static constexpr int kInputWords = kChunk * kChannelStride;
  static_assert(kInputWords % 4 == 0, "the weights after the tile must be 16-byte aligned");
};

// The chunk's weights in shared memory in their global order, [n][k][tap] (a row of 8 x 27
// per output channel), so that staging reads and writes consecutive words. The row stride
// is 4 (mod 32): a B fragment load (8 channels n = g x 4 rows k = q, at one tap) then hits
// banks 4 g + 27 q (mod 32), 32 distinct ones.
constexpr int kWeightRowStride = kChunk * kTaps + ((4 - (kChunk * kTaps) % 32) + 32) % 32;
static_assert(kWeightRowStride % 32 == 4, "B fragment loads must be conflict-free");
static_assert(kWeightRowStride % 4 == 0, "weight rows must be 16-byte aligned");

// Output channels as two 8-wide mma tiles, Cout <= 16 padded to 16. narrow_conv3d.cc sends
// only 9-16-channel layers here: a one-tile variant for 8 channels measured slower than the
// CUDA-core kernel on the H200 (BENCHMARKS.md section 3).
constexpr int kOutTiles = 2;
constexpr int kWeightWords = 8 * kOutTiles * kWeightRowStride;

// Copies 4 bytes from global to shared memory asynchronously, or zeros when !valid (then
// `src` is not read).
__device__ __forceinline__ void CopyAsync4(float* shared_dst, const float* src, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src),
               "r"(valid ? 4 : 0));
#else
  *shared_dst = valid ? *src : 0.0f;
#endif
}

// Copies 16 bytes (both addresses 16-byte aligned) asynchronously, cached in L1 as well
// (the weights, which every block of a layer reads, also those resident on the same SM).
__device__ __forceinline__ void CopyAsync16(float* shared_dst, const float* src) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src));
#else
  *reinterpret_cast<float4*>(shared_dst) = *reinterpret_cast<const float4*>(src);
#endif
}

__device__ __forceinline__ void WaitAsyncCopies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_all;\n" ::);
#endif
}

__device__ __forceinline__ uint32_t ToTf32(float v) {
  uint32_t r = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(v));
#else
  r = __float_as_uint(v);
#endif
  return r;
}

// acc += A (16 x 8, row-major) x B (8 x 8, column-major), TF32 in, float32 accumulate.
__device__ __forceinline__ void MmaTf32(float (&acc)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                        uint32_t a3, uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
  __trap();  // the launcher never picks this path below sm_80
#endif
}

// Grid: x over the (W / 16) x (H / 4R) tiles of a frame, y over frames, z over the batch x
// `splits` groups of input channels (`chunks_per_split` chunks each). With one split the
// block writes out + bias; with more, its partial sums to partial[split] (out's shape, no
// bias). Shared memory holds float32 values; they become TF32 as A and B fragments.
template <int R>
__global__ void __launch_bounds__(kThreads)
    NarrowCausalConv3dTf32Kernel(const float* __restrict__ x, const float* __restrict__ past,
                                 const float* __restrict__ weight, const float* __restrict__ bias,
                                 float* __restrict__ out, float* __restrict__ partial, int cin,
                                 int cout, int frames, int height, int width, int tiles_w,
                                 int splits, int chunks_per_split, bool upsample_time,
                                 bool upsample_space) {
  using Tile = TileShape<R>;
  constexpr int kNw = 8 * kOutTiles;  // padded output channels
  extern __shared__ __align__(16) float shared_floats[];
  float* tile = shared_floats;                         // [kChunk][channel stride]
  float* weights = shared_floats + Tile::kInputWords;  // [kNw][kWeightRowStride]

  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int g = lane >> 2;  // mma groupID: row of A, column of B
  const int q = lane & 3;   // mma threadID_in_group: column of A, row of B
  const int tile_h0 = (blockIdx.x / tiles_w) * Tile::kRows;
  const int tile_w0 = (blockIdx.x % tiles_w) * kTileW;
  const int t = blockIdx.y;
  const int b = blockIdx.z / splits;
  const int split = blockIdx.z % splits;
  const int c_begin = split * chunks_per_split * kChunk;
  const int c_end = min(cin, c_begin + chunks_per_split * kChunk);
  const int64_t plane = static_cast<int64_t>(height) * width;
  // x's own sizes: with upsampling (NarrowConv3dArgs), the input before it, read through it.
  const int in_frames = upsample_time ? (frames + 1) / 2 : frames;
  const int in_width = upsample_space ? width / 2 : width;
  const int64_t in_plane = static_cast<int64_t>(upsample_space ? height / 2 : height) * in_width;
  const int space_shift = upsample_space ? 1 : 0;

  float acc[R][kOutTiles][4];
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int nt = 0; nt < kOutTiles; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[r][nt][i] = 0.0f;
    }
  }

  for (int c0 = c_begin; c0 < c_end; c0 += kChunk) {
    __syncthreads();  // every warp is done with the previous chunk
    // The chunk's weights, in memory order ([Cout][Cin][27]: taps, then channels): 16 bytes
    // a copy when a whole chunk's rows are 16-byte aligned (Cin % 4 == 0, as in every
    // decoder layer; a quarter of the copy instructions), else 4.
    if (cin % 4 == 0 && c0 + kChunk <= cin) {
      constexpr int kQuads = kChunk * kTaps / 4;  // 54 per output channel
      for (int i = threadIdx.x; i < cout * kQuads; i += kThreads) {
        const int n = i / kQuads;
        const int k_tap = 4 * (i - n * kQuads);
        CopyAsync16(weights + n * kWeightRowStride + k_tap,
                    weight + (static_cast<int64_t>(n) * cin + c0) * kTaps + k_tap);
      }
      // Padded output channels: zeros (their rows are read by the mma's B fragments).
      for (int i = threadIdx.x; i < (kNw - cout) * kChunk * kTaps; i += kThreads) {
        const int n = cout + i / (kChunk * kTaps);
        weights[n * kWeightRowStride + i % (kChunk * kTaps)] = 0.0f;
      }
    } else {
      for (int i = threadIdx.x; i < kNw * kChunk * kTaps; i += kThreads) {
        const int n = i / (kChunk * kTaps);
        const int k_tap = i - n * (kChunk * kTaps);  // k * 27 + tap
        const int ci = c0 + k_tap / kTaps;
        const bool valid = n < cout && ci < cin;
        CopyAsync4(weights + n * kWeightRowStride + k_tap,
                   valid ? weight + (static_cast<int64_t>(n) * cin + c0) * kTaps + k_tap : weight,
                   valid);
      }
    }
    // The first chunk's weights are on their way while the kernel before this one may
    // still run; the input is its output.
    if (c0 == c_begin) {
      WaitForPrecedingKernels();
      LetDependentKernelsStart();
    }
    // The input tile, row by row of 18 columns.
    for (int e = threadIdx.x; e < kChunk * Tile::kRaw; e += kThreads) {
      const int col = e % kTileCols;
      const int ir = (e / kTileCols) % Tile::kInRows;
      const int dt = (e / Tile::kFrameStride) % K;
      const int k = e / Tile::kRaw;
      const int ci = c0 + k;
      const int hh = tile_h0 + ir - 1;
      const int ww = tile_w0 + col - 1;
      const bool valid = ci < cin && hh >= 0 && hh < height && ww >= 0 && ww < width;
      const float* src = x;
      if (valid) {
        const int64_t channel = static_cast<int64_t>(b) * cin + ci;
        // Causal: output frame t reads input frames t-2, t-1, t.
        const int tt = t + dt - (K - 1);
        const int source_frame = upsample_time ? (tt + 1) >> 1 : tt;  // for tt >= 0
        const float* frame = tt >= 0 ? x + (channel * in_frames + source_frame) * in_plane
                             : past != nullptr
                                 ? past + (channel * (K - 1) + tt + K - 1) * plane
                                 : x + channel * in_frames * in_plane;  // first frame
        src = frame + static_cast<int64_t>(hh >> space_shift) * in_width + (ww >> space_shift);
      }
      CopyAsync4(tile + k * Tile::kChannelStride + dt * Tile::kFrameStride + ir * kTileCols + col,
                 src, valid);
    }
    WaitAsyncCopies();
    __syncthreads();

#pragma unroll
    for (int dt = 0; dt < K; ++dt) {
#pragma unroll
      for (int dw = 0; dw < K; ++dw) {
        uint32_t bf[K][kOutTiles][2];
#pragma unroll
        for (int dh = 0; dh < K; ++dh) {
          const int tap = (dt * K + dh) * K + dw;
#pragma unroll
          for (int nt = 0; nt < kOutTiles; ++nt) {
            const int n = nt * 8 + g;
            const float* column = weights + n * kWeightRowStride + tap;
            bf[dh][nt][0] = ToTf32(column[q * kTaps]);
            bf[dh][nt][1] = ToTf32(column[(q + 4) * kTaps]);
          }
        }
        // A fragment (m = g or g + 8, k = q or q + 4) of input row j of this warp's window.
        const float* lo = tile + q * Tile::kChannelStride + dt * Tile::kFrameStride +
                          warp * R * kTileCols + dw + g;
        const float* hi = lo + 4 * Tile::kChannelStride;
#pragma unroll
        for (int j = 0; j < R + K - 1; ++j) {
          const uint32_t a0 = ToTf32(lo[j * kTileCols]), a1 = ToTf32(lo[j * kTileCols + 8]);
          const uint32_t a2 = ToTf32(hi[j * kTileCols]), a3 = ToTf32(hi[j * kTileCols + 8]);
#pragma unroll
          for (int dh = 0; dh < K; ++dh) {
            const int row = j - dh;  // the output row that reads input row j at tap dh
            if (row < 0 || row >= R) continue;
#pragma unroll
            for (int nt = 0; nt < kOutTiles; ++nt) {
              MmaTf32(acc[row][nt], a0, a1, a2, a3, bf[dh][nt][0], bf[dh][nt][1]);
            }
          }
        }
      }
    }
  }

  // C fragment: acc[.][nt][i] is output column g + 8 (i / 2), channel nt * 8 + 2 q + i % 2.
  float* dst = out;
  if (splits > 1) {
    dst = partial + split * (static_cast<int64_t>(gridDim.z / splits) * cout * frames * plane);
    bias = nullptr;  // added once, by SumSplitsKernel
  }
#pragma unroll
  for (int row = 0; row < R; ++row) {
    const int h = tile_h0 + warp * R + row;
    if (h >= height) continue;
#pragma unroll
    for (int nt = 0; nt < kOutTiles; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int n = nt * 8 + 2 * q + (i & 1);
        const int w = tile_w0 + g + (i >> 1) * 8;
        if (n >= cout || w >= width) continue;
        const float bias_value = bias == nullptr ? 0.0f : bias[n];
        dst[(static_cast<int64_t>(b) * cout + n) * frames * plane + t * plane +
            static_cast<int64_t>(h) * width + w] = acc[row][nt][i] + bias_value;
      }
    }
  }
}

// out[i] = bias[channel of i] + partial[0][i] + ... + partial[splits - 1][i].
__global__ void SumSplitsKernel(const float* __restrict__ partial, const float* __restrict__ bias,
                                float* __restrict__ out, int64_t numel, int splits, int cout,
                                int64_t channel_stride) {
  WaitForPrecedingKernels();
  LetDependentKernelsStart();
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = bias == nullptr ? 0.0f : bias[(i / channel_stride) % cout];
    for (int s = 0; s < splits; ++s) sum += partial[s * numel + i];
    out[i] = sum;
  }
}

// SumSplitsKernel, then the output norm (NarrowConv3dArgs::norm_weight) of each voxel. A block
// is kSumNormVoxels neighbouring voxels x kNarrowConvMaxOutChannels channel slots: each thread
// adds up one channel's partial sums and bias in SumSplitsKernel's order (a warp reads two
// channels' rows of 16 voxels), the block sums each voxel's squares over its channels in
// order from shared memory, and each thread scales, shifts and passes its value through SiLU
// as the norm kernel (channel_rms_norm_silu.cu) does on the values SumSplitsKernel would
// have written. (One thread per voxel running all channels' splits serially took 27 us for
// the thin decoder's 128 -> 16 layer at 16x16 x 5 frames on the H200 under Nsight Compute,
// against 4 + 7 us for SumSplitsKernel and the norm kernel.)
constexpr int kSumNormVoxels = 16;
constexpr int kSumNormThreads = kSumNormVoxels * kNarrowConvMaxOutChannels;
__global__ void __launch_bounds__(kSumNormThreads)
    SumSplitsNormKernel(const float* __restrict__ partial, const float* __restrict__ bias,
                        const float* __restrict__ norm_weight,
                        const float* __restrict__ norm_bias, float* __restrict__ out,
                        int64_t voxels, int splits, int cout, int64_t channel_stride,
                        float inv_channels, float eps) {
  __shared__ float values[kNarrowConvMaxOutChannels][kSumNormVoxels];
  WaitForPrecedingKernels();
  LetDependentKernelsStart();
  const int64_t numel = voxels * cout;
  const int lane = threadIdx.x % kSumNormVoxels, c = threadIdx.x / kSumNormVoxels;
  // Every thread of a block runs the same iterations (the barriers below).
  for (int64_t v0 = static_cast<int64_t>(blockIdx.x) * kSumNormVoxels; v0 < voxels;
       v0 += static_cast<int64_t>(gridDim.x) * kSumNormVoxels) {
    const int64_t v = v0 + lane;
    const bool active = v < voxels && c < cout;
    int64_t offset = 0;
    float sum = 0.0f;
    if (active) {
      const int64_t item = v / channel_stride;
      offset = item * cout * channel_stride + (v - item * channel_stride) + c * channel_stride;
      sum = bias == nullptr ? 0.0f : bias[c];
      for (int s = 0; s < splits; ++s) sum += partial[s * numel + offset];
    }
    values[c][lane] = sum;
    __syncthreads();
    float sum_sq = 0.0f;
    for (int k = 0; k < cout; ++k) sum_sq += values[k][lane] * values[k][lane];
    if (active) {
      out[offset] = ScaleShiftSilu(sum, RmsNormScale(sum_sq, inv_channels, eps),
                                   __ldg(norm_weight + c), __ldg(norm_bias + c));
    }
    __syncthreads();  // `values` is rewritten by the next voxels
  }
}

template <int R>
cudaError_t Launch(const NarrowConv3dArgs& a, int splits, cudaStream_t stream) {
  using Tile = TileShape<R>;
  const int tiles_w = (a.width + kTileW - 1) / kTileW;
  const int tiles_h = (a.height + Tile::kRows - 1) / Tile::kRows;
  const int chunks = (a.in_channels + kChunk - 1) / kChunk;
  const int chunks_per_split = (chunks + splits - 1) / splits;
  const dim3 grid(static_cast<unsigned>(tiles_w * tiles_h), static_cast<unsigned>(a.frames),
                  static_cast<unsigned>(a.batch * splits));
  const size_t shared_bytes = (Tile::kInputWords + kWeightWords) * sizeof(uint32_t);
  static_assert((TileShape<4>::kInputWords + kWeightWords) * 4 <= 48 * 1024,
                "the largest tile must fit the default 48 KiB of dynamic shared memory");
  const cudaError_t err = LaunchDependent(
      NarrowCausalConv3dTf32Kernel<R>, grid, dim3(kThreads), shared_bytes, stream,
      static_cast<const float*>(a.x), static_cast<const float*>(a.past),
      static_cast<const float*>(a.weight), static_cast<const float*>(a.bias),
      static_cast<float*>(a.out), static_cast<float*>(a.workspace), a.in_channels,
      a.out_channels, a.frames, a.height, a.width, tiles_w, splits, chunks_per_split,
      a.upsample_time, a.upsample_space);
  if (splits == 1 || err != cudaSuccess) return err;
  const int64_t channel_stride = static_cast<int64_t>(a.frames) * a.height * a.width;
  const int64_t numel = channel_stride * a.out_channels * a.batch;
  constexpr int kSumThreads = 256;
  if (a.norm_weight != nullptr) {
    const int64_t voxels = numel / a.out_channels;
    const int64_t blocks =
        std::min<int64_t>((voxels + kSumNormVoxels - 1) / kSumNormVoxels, 65535);
    return LaunchDependent(SumSplitsNormKernel, dim3(static_cast<unsigned>(blocks)),
                           dim3(kSumNormThreads), 0, stream, static_cast<const float*>(a.workspace),
                           static_cast<const float*>(a.bias), a.norm_weight, a.norm_bias,
                           static_cast<float*>(a.out), voxels, splits, a.out_channels,
                           channel_stride, 1.0f / static_cast<float>(a.out_channels),
                           a.norm_eps);
  }
  const int64_t sum_blocks = std::min<int64_t>((numel + kSumThreads - 1) / kSumThreads, 65535);
  return LaunchDependent(SumSplitsKernel, dim3(static_cast<unsigned>(sum_blocks)),
                         dim3(kSumThreads), 0, stream, static_cast<const float*>(a.workspace),
                         static_cast<const float*>(a.bias), static_cast<float*>(a.out), numel,
                         splits, a.out_channels, channel_stride);
}

// Blocks per split at R rows per warp.
int64_t Blocks(const NarrowConv3dArgs& a, int rows_per_warp) {
  const int64_t tiles_w = (a.width + kTileW - 1) / kTileW;
  const int64_t tiles_h = (a.height + kWarps * rows_per_warp - 1) / (kWarps * rows_per_warp);
  return tiles_w * tiles_h * a.frames * a.batch;
}

struct TilePlan {
  int rows_per_warp = 4;
  int splits = 1;
};

// Without a split (Cin < 32): 4 rows per warp when that still gives kMinBlocks blocks,
// else 2, else 1. Deeper inputs keep the most rows per warp that, split, reach
// kSplitBelowBlocks blocks: a split costs only the partial sums' round trip, while fewer
// rows per block stage the chunk's weights (3,456 floats) for fewer outputs.
TilePlan PlanTiles(const NarrowConv3dArgs& a) {
  TilePlan plan;
  const int chunks = (a.in_channels + kChunk - 1) / kChunk;
  const int max_splits = chunks / kMinChunksPerSplit;
  if (max_splits < 2) {
    plan.rows_per_warp = Blocks(a, 4) >= kMinBlocks ? 4 : Blocks(a, 2) >= kMinBlocks ? 2 : 1;
    return plan;
  }
  for (int r : {4, 2, 1}) {
    const int64_t blocks = Blocks(a, r);
    plan.rows_per_warp = r;
    if (blocks >= kSplitBelowBlocks) return plan;
    if (blocks * max_splits >= kSplitBelowBlocks || r == 1) {
      const int64_t wanted = (kSplitBelowBlocks + blocks - 1) / blocks;
      const int64_t per_split =
          std::max<int64_t>(kMinChunksPerSplit, (chunks + wanted - 1) / wanted);
      // The grid's z (batch x splits) is at most 65535.
      plan.splits = static_cast<int>(std::max<int64_t>(
          1, std::min<int64_t>((chunks + per_split - 1) / per_split, 65535 / a.batch)));
      return plan;
    }
  }
  return plan;
}

}  // namespace

int NarrowConvTf32Splits(const NarrowConv3dArgs& a) {
  if (a.in_channels <= 0 || a.batch <= 0 || a.frames <= 0 || a.height <= 0 || a.width <= 0) {
    return 1;
  }
  return PlanTiles(a).splits;
}

cudaError_t LaunchNarrowCausalConv3dTf32(const NarrowConv3dArgs& a, cudaStream_t stream) {
  if (a.out_channels <= 0 || a.out_channels > kNarrowConvMaxOutChannels || a.in_channels <= 0 ||
      a.batch <= 0 || a.frames <= 0 || a.height <= 0 || a.width <= 0 || a.frames > 65535 ||
      a.batch > 65535 || a.x == nullptr || a.weight == nullptr || a.out == nullptr ||
      a.dtype != KernelDtype::kFloat32 || !NarrowConvUpsamplingValid(a) ||
      (a.norm_weight == nullptr) != (a.norm_bias == nullptr)) {
    return cudaErrorInvalidValue;
  }
  const TilePlan plan = PlanTiles(a);
  // The output norm runs in the split-sum kernel: unsplit, the output's channels are spread
  // over the mma fragments of several lanes.
  if (a.norm_weight != nullptr && plan.splits == 1) return cudaErrorInvalidValue;
  if (plan.splits > 1 && a.workspace == nullptr) return cudaErrorInvalidValue;
  switch (plan.rows_per_warp) {
    case 4: return Launch<4>(a, plan.splits, stream);
    case 2: return Launch<2>(a, plan.splits, stream);
    default: return Launch<1>(a, plan.splits, stream);
  }
}

}  // namespace cuda_kernels
}  // namespace vidserve

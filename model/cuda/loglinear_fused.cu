// Fused causal Fenwick log-linear attention forward (see model/mixers/loglinear_attention.h
// for the math). Two kernels, chunk length 64, head dims <= 64 (zero-padded to 64), fp32
// accumulation everywhere. fp32 inputs: plain fp32 FMA with 4x4 register tiles fed by float4
// shared loads (exact to ~1e-6). bf16/fp16 inputs: the *TC variants below, wmma tensor cores.
//
//  1. ChunkStatesKernel, one CTA per (chunk, b*h): S_c = K_c^T V_c (fp32, 64x64), then the
//     Fenwick block states above it by a tree reduction inside the same launch: the second
//     CTA of each sibling pair to finish (atomic counter) adds its sibling's block and writes
//     the parent, level by level ("last block done" pattern). Only complete aligned blocks of
//     2^j chunks are built; those are the only ones a query reads.
//  2. QueryKernel, one CTA per (query chunk, b*h): dense masked intra-chunk attention with the
//     per-pair level weight lambda_t[bit_length(t ^ s)], then for every set bit j of the chunk
//     index the fp32 state of block ((c >> j) - 1) at level j, weighted per row by
//     lambda_t[log2(64) + j + 1]. The next state is prefetched into registers while the
//     current one is used. The output is written once.
#include "model/cuda/loglinear_fused_kernels.h"
#include "model/cuda/float_conversions.cuh"

#include <atomic>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

namespace vidserve {
namespace cuda_kernels {
namespace {

constexpr int C = kLogLinearChunk;       // tokens per chunk
constexpr int D = kLogLinearMaxHeadDim;  // padded head dim
constexpr int kLogC = 6;                 // log2(C)
constexpr int LD = D + 4;                // shared row stride (floats): float4-aligned, padded
constexpr int kThreads = 256;            // 16 x 16 threads, 4 x 4 outputs each
static_assert(C == 64 && D == 64, "tiling below assumes 64 x 64 tiles");

// Offset (in blocks) of block m of level j inside one (b, h)'s state array: level j holds the
// num_chunks >> j complete aligned blocks of 2^j chunks.
__host__ __device__ __forceinline__ int64_t BlockOffset(int64_t num_chunks, int level,
                                                        int64_t m) {
  int64_t offset = 0;
  for (int j = 0; j < level; ++j) offset += num_chunks >> j;
  return offset + m;
}

// Rows [0, C) of a [rows_valid, cols] row-major tile into shared memory as fp32, zero-padded
// to C x D; row-major (dst[r * LD + c]) or transposed (dst[c * LD + r]).
template <typename T, bool kTranspose>
__device__ __forceinline__ void LoadTile(const T* __restrict__ src, int rows_valid, int cols,
                                         float* dst) {
  for (int idx = threadIdx.x; idx < C * D; idx += kThreads) {
    const int r = idx / D, c = idx % D;
    float x = 0.f;
    if (r < rows_valid && c < cols) x = ToFloat(src[static_cast<int64_t>(r) * cols + c]);
    if (kTranspose) {
      dst[c * LD + r] = x;
    } else {
      dst[r * LD + c] = x;
    }
  }
}

// acc[i][j] += sum_k at[k][r0 + i] * b[k][c0 + j] over k < 64 (both operands k-major, stride LD).
__device__ __forceinline__ void Mma4x4(const float* __restrict__ at, const float* __restrict__ b,
                                       int r0, int c0, float acc[4][4]) {
#pragma unroll 8
  for (int kk = 0; kk < 64; ++kk) {
    const float4 a4 = *reinterpret_cast<const float4*>(at + kk * LD + r0);
    const float4 b4 = *reinterpret_cast<const float4*>(b + kk * LD + c0);
    const float av[4] = {a4.x, a4.y, a4.z, a4.w};
    const float bv[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
  }
}

__device__ __forceinline__ void StoreState(float* __restrict__ dst, int r0, int c0,
                                           const float acc[4][4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    *reinterpret_cast<float4*>(dst + (r0 + i) * D + c0) =
        make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    ChunkStatesKernel(const T* __restrict__ k, const T* __restrict__ v, float* states,
                      int* counters, int64_t seq_len, int dk, int dv, int64_t num_chunks,
                      int64_t blocks_per_bh) {
  __shared__ __align__(16) float s_k[C * LD];
  __shared__ __align__(16) float s_v[C * LD];
  __shared__ int s_flag;
  const int64_t chunk = blockIdx.x, bh = blockIdx.y;
  const int64_t row0 = chunk * C;
  const int rows = static_cast<int>(seq_len - row0 < C ? seq_len - row0 : C);
  LoadTile<T, false>(k + (bh * seq_len + row0) * dk, rows, dk, s_k);
  LoadTile<T, false>(v + (bh * seq_len + row0) * dv, rows, dv, s_v);
  __syncthreads();
  const int r0 = (threadIdx.x / 16) * 4, c0 = (threadIdx.x % 16) * 4;
  float acc[4][4] = {};
  Mma4x4(s_k, s_v, r0, c0, acc);  // sum_s K[s][r] V[s][c]

  float* base = states + bh * blocks_per_bh * (D * D);
  int* count = counters + bh * blocks_per_bh;
  int level = 0;
  int64_t m = chunk, offset = 0;  // offset: first block of `level`
  StoreState(base + (offset + m) * (D * D), r0, c0, acc);
  while (true) {
    const int64_t parent = m >> 1;
    if (((parent + 1) << (level + 1)) > num_chunks) break;  // parent block incomplete
    const int64_t next_offset = offset + (num_chunks >> level);
    __threadfence();  // our block is visible before the counter says so
    __syncthreads();
    if (threadIdx.x == 0) s_flag = atomicAdd(count + next_offset + parent, 1);
    __syncthreads();
    if (s_flag == 0) break;  // the sibling's CTA finishes the parent
    __threadfence();
    const float* sibling = base + (offset + (m ^ 1)) * (D * D);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float4 x = __ldcg(reinterpret_cast<const float4*>(sibling + (r0 + i) * D + c0));
      acc[i][0] += x.x;
      acc[i][1] += x.y;
      acc[i][2] += x.z;
      acc[i][3] += x.w;
    }
    offset = next_offset;
    ++level;
    m = parent;
    StoreState(base + (offset + m) * (D * D), r0, c0, acc);
  }
}

constexpr int QuerySmemBytes(int levels) {
  return static_cast<int>(sizeof(float)) * (4 * C * LD + C * levels);
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 2)
    QueryKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                const T* __restrict__ lambda, T* __restrict__ out,
                const float* __restrict__ states, int64_t seq_len, int dk, int dv,
                int num_lambda, int levels, int64_t num_chunks, int64_t blocks_per_bh) {
  extern __shared__ __align__(16) float smem[];
  float* s_qt = smem;            // [d][t]
  float* s_kt = s_qt + D * LD;   // [d][s]; later the current level state [d][j]
  float* s_v = s_kt + D * LD;    // [s][j]
  float* s_pt = s_v + C * LD;    // weighted scores, [s][t]
  float* s_lam = s_pt + C * LD;  // [t][level], levels < `levels`

  const int64_t chunk = blockIdx.x, bh = blockIdx.y;
  const int64_t row0 = chunk * C;
  const int rows = static_cast<int>(seq_len - row0 < C ? seq_len - row0 : C);
  LoadTile<T, true>(q + (bh * seq_len + row0) * dk, rows, dk, s_qt);
  LoadTile<T, true>(k + (bh * seq_len + row0) * dk, rows, dk, s_kt);
  LoadTile<T, false>(v + (bh * seq_len + row0) * dv, rows, dv, s_v);
  {
    const T* lam = lambda + (bh * seq_len + row0) * num_lambda;
    for (int idx = threadIdx.x; idx < C * levels; idx += kThreads) {
      const int r = idx / levels, l = idx % levels;
      s_lam[idx] = r < rows ? ToFloat(lam[static_cast<int64_t>(r) * num_lambda + l]) : 0.f;
    }
  }
  __syncthreads();

  const int r0 = (threadIdx.x / 16) * 4, c0 = (threadIdx.x % 16) * 4;
  {
    float s[4][4] = {};
    Mma4x4(s_qt, s_kt, r0, c0, s);  // q_t . k_s
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = r0 + i;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int u = c0 + j;
        float w = 0.f;
        if (u <= t && t < rows) w = s_lam[t * levels + (32 - __clz(t ^ u))];
        s_pt[u * LD + t] = s[i][j] * w;
      }
    }
  }
  __syncthreads();  // s_kt is free from here on

  const float* base = states + bh * blocks_per_bh * (D * D);
  unsigned long long remaining = static_cast<unsigned long long>(chunk);
  int level = remaining ? __ffsll(static_cast<long long>(remaining)) - 1 : -1;
  float4 pre[4];
  auto fetch = [&](int j) {
    const float4* src = reinterpret_cast<const float4*>(
        base + BlockOffset(num_chunks, j, (chunk >> j) - 1) * (D * D));
#pragma unroll
    for (int r = 0; r < 4; ++r) pre[r] = __ldg(src + threadIdx.x + r * kThreads);
  };
  auto stash = [&]() {
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int idx4 = threadIdx.x + r * kThreads;  // 16 float4 per state row
      *reinterpret_cast<float4*>(s_kt + (idx4 / 16) * LD + (idx4 % 16) * 4) = pre[r];
    }
  };
  if (level >= 0) {
    fetch(level);
    stash();
  }

  float o[4][4] = {};
  Mma4x4(s_pt, s_v, r0, c0, o);  // intra-chunk
  __syncthreads();

  while (level >= 0) {
    remaining &= remaining - 1;
    const int next = remaining ? __ffsll(static_cast<long long>(remaining)) - 1 : -1;
    if (next >= 0) fetch(next);
    float part[4][4] = {};
    Mma4x4(s_qt, s_kt, r0, c0, part);  // q_t S
    const int token_level = kLogC + level + 1;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = r0 + i;
      const float w = t < rows ? s_lam[t * levels + token_level] : 0.f;
#pragma unroll
      for (int j = 0; j < 4; ++j) o[i][j] = fmaf(w, part[i][j], o[i][j]);
    }
    __syncthreads();
    if (next >= 0) {
      stash();
      __syncthreads();
    }
    level = next;
  }

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int t = r0 + i;
    if (t >= rows) continue;
    T* dst = out + (bh * seq_len + row0 + t) * dv;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (c0 + j < dv) dst[c0 + j] = FromFloat<T>(o[i][j]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tensor-core variants for 16-bit inputs (bf16, fp16): wmma 16x16x16 with fp32 accumulation.
// Same algorithm; the weighted intra-chunk scores, the lambda-scaled queries and the fp32
// block states are rounded to the input type right before their product (as the LibTorch
// path's low-precision matmuls do). Block states stay fp32 in memory.
namespace wmma = nvcuda::wmma;
constexpr int LDH = D + 8;  // 16-bit shared row stride (elements): 144 B rows, 32 B aligned
constexpr int LDF = D + 4;  // fp32 scratch stride
using AccFrag = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

template <typename T>
__device__ __forceinline__ void LoadTileRaw(const T* __restrict__ src, int rows_valid, int cols,
                                            T* dst) {
  const T zero = FromFloat<T>(0.f);
  for (int idx = threadIdx.x; idx < C * D; idx += kThreads) {
    const int r = idx / D, c = idx % D;
    dst[r * LDH + c] = (r < rows_valid && c < cols) ? src[static_cast<int64_t>(r) * cols + c] : zero;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    ChunkStatesKernelTC(const T* __restrict__ k, const T* __restrict__ v, float* states,
                        int* counters, int64_t seq_len, int dk, int dv, int64_t num_chunks,
                        int64_t blocks_per_bh) {
  __shared__ __align__(32) T s_k[C * LDH];
  __shared__ __align__(32) T s_v[C * LDH];
  __shared__ __align__(32) float s_f[C * LDF];
  __shared__ int s_flag;
  const int64_t chunk = blockIdx.x, bh = blockIdx.y;
  const int64_t row0 = chunk * C;
  const int rows = static_cast<int>(seq_len - row0 < C ? seq_len - row0 : C);
  LoadTileRaw<T>(k + (bh * seq_len + row0) * dk, rows, dk, s_k);
  LoadTileRaw<T>(v + (bh * seq_len + row0) * dv, rows, dv, s_v);
  __syncthreads();
  {
    const int warp = threadIdx.x / 32, wr = warp / 2, wc0 = (warp % 2) * 2;
    AccFrag acc[2];
    wmma::fill_fragment(acc[0], 0.f);
    wmma::fill_fragment(acc[1], 0.f);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      // A = K^T (col-major view of K), B = V.
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::col_major> a;
      wmma::load_matrix_sync(a, s_k + kk * 16 * LDH + wr * 16, LDH);
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
        wmma::load_matrix_sync(b, s_v + kk * 16 * LDH + (wc0 + c) * 16, LDH);
        wmma::mma_sync(acc[c], a, b, acc[c]);
      }
    }
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      wmma::store_matrix_sync(s_f + wr * 16 * LDF + (wc0 + c) * 16, acc[c], LDF,
                              wmma::mem_row_major);
    }
  }
  __syncthreads();
  const int r0 = (threadIdx.x / 16) * 4, c0 = (threadIdx.x % 16) * 4;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = s_f[(r0 + i) * LDF + c0 + j];
  }

  float* base = states + bh * blocks_per_bh * (D * D);
  int* count = counters + bh * blocks_per_bh;
  int level = 0;
  int64_t m = chunk, offset = 0;
  StoreState(base + (offset + m) * (D * D), r0, c0, acc);
  while (true) {
    const int64_t parent = m >> 1;
    if (((parent + 1) << (level + 1)) > num_chunks) break;
    const int64_t next_offset = offset + (num_chunks >> level);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) s_flag = atomicAdd(count + next_offset + parent, 1);
    __syncthreads();
    if (s_flag == 0) break;
    __threadfence();
    const float* sibling = base + (offset + (m ^ 1)) * (D * D);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float4 x = __ldcg(reinterpret_cast<const float4*>(sibling + (r0 + i) * D + c0));
      acc[i][0] += x.x;
      acc[i][1] += x.y;
      acc[i][2] += x.z;
      acc[i][3] += x.w;
    }
    offset = next_offset;
    ++level;
    m = parent;
    StoreState(base + (offset + m) * (D * D), r0, c0, acc);
  }
}

constexpr int QuerySmemBytesTC(int levels, int elem_bytes) {
  return 4 * C * LDH * elem_bytes + static_cast<int>(sizeof(float)) * (C * LDF + C * levels);
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 2)
    QueryKernelTC(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                  const T* __restrict__ lambda, T* __restrict__ out,
                  const float* __restrict__ states, int64_t seq_len, int dk, int dv,
                  int num_lambda, int levels, int64_t num_chunks, int64_t blocks_per_bh) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* s_q = reinterpret_cast<T*>(smem_raw);  // [t][d]
  T* s_k = s_q + C * LDH;                   // [s][d]; later the current state [d][j]
  T* s_v = s_k + C * LDH;                   // [s][j]
  T* s_p = s_v + C * LDH;                   // weighted scores [t][s]; later lambda * q [t][d]
  float* s_f = reinterpret_cast<float*>(s_p + C * LDH);  // fp32 scratch [t][*]
  float* s_lam = s_f + C * LDF;                          // [t][level]

  const int64_t chunk = blockIdx.x, bh = blockIdx.y;
  const int64_t row0 = chunk * C;
  const int rows = static_cast<int>(seq_len - row0 < C ? seq_len - row0 : C);
  LoadTileRaw<T>(q + (bh * seq_len + row0) * dk, rows, dk, s_q);
  LoadTileRaw<T>(k + (bh * seq_len + row0) * dk, rows, dk, s_k);
  LoadTileRaw<T>(v + (bh * seq_len + row0) * dv, rows, dv, s_v);
  {
    const T* lam = lambda + (bh * seq_len + row0) * num_lambda;
    for (int idx = threadIdx.x; idx < C * levels; idx += kThreads) {
      const int r = idx / levels, l = idx % levels;
      s_lam[idx] = r < rows ? ToFloat(lam[static_cast<int64_t>(r) * num_lambda + l]) : 0.f;
    }
  }
  __syncthreads();

  const int warp = threadIdx.x / 32, wr = warp / 2, wc0 = (warp % 2) * 2;
  {
    AccFrag sc[2];
    wmma::fill_fragment(sc[0], 0.f);
    wmma::fill_fragment(sc[1], 0.f);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::load_matrix_sync(a, s_q + wr * 16 * LDH + kk * 16, LDH);
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;  // K^T
        wmma::load_matrix_sync(b, s_k + (wc0 + c) * 16 * LDH + kk * 16, LDH);
        wmma::mma_sync(sc[c], a, b, sc[c]);
      }
    }
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      wmma::store_matrix_sync(s_f + wr * 16 * LDF + (wc0 + c) * 16, sc[c], LDF,
                              wmma::mem_row_major);
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < C * C; idx += kThreads) {
    const int t = idx / C, u = idx % C;
    float w = 0.f;
    if (u <= t && t < rows) w = s_lam[t * levels + (32 - __clz(t ^ u))];
    s_p[t * LDH + u] = FromFloat<T>(s_f[t * LDF + u] * w);
  }
  __syncthreads();  // s_k is free from here on

  const float* base = states + bh * blocks_per_bh * (D * D);
  unsigned long long remaining = static_cast<unsigned long long>(chunk);
  int level = remaining ? __ffsll(static_cast<long long>(remaining)) - 1 : -1;
  float4 pre[4];
  auto fetch = [&](int j) {
    const float4* src = reinterpret_cast<const float4*>(
        base + BlockOffset(num_chunks, j, (chunk >> j) - 1) * (D * D));
#pragma unroll
    for (int r = 0; r < 4; ++r) pre[r] = __ldg(src + threadIdx.x + r * kThreads);
  };
  if (level >= 0) fetch(level);

  AccFrag o[2];
  wmma::fill_fragment(o[0], 0.f);
  wmma::fill_fragment(o[1], 0.f);
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
    wmma::load_matrix_sync(a, s_p + wr * 16 * LDH + kk * 16, LDH);
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
      wmma::load_matrix_sync(b, s_v + kk * 16 * LDH + (wc0 + c) * 16, LDH);
      wmma::mma_sync(o[c], a, b, o[c]);
    }
  }
  __syncthreads();  // s_p is free from here on

  while (level >= 0) {
    // State -> s_k (as [d][j]); lambda_t[level] * q_t -> s_p.
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int idx4 = threadIdx.x + r * kThreads;
      T* dst = s_k + (idx4 / 16) * LDH + (idx4 % 16) * 4;
      dst[0] = FromFloat<T>(pre[r].x);
      dst[1] = FromFloat<T>(pre[r].y);
      dst[2] = FromFloat<T>(pre[r].z);
      dst[3] = FromFloat<T>(pre[r].w);
    }
    const int token_level = kLogC + level + 1;
    for (int idx = threadIdx.x; idx < C * D; idx += kThreads) {
      const int t = idx / D, d = idx % D;
      const float w = t < rows ? s_lam[t * levels + token_level] : 0.f;
      s_p[t * LDH + d] = FromFloat<T>(w * ToFloat(s_q[t * LDH + d]));
    }
    remaining &= remaining - 1;
    const int next = remaining ? __ffsll(static_cast<long long>(remaining)) - 1 : -1;
    __syncthreads();
    if (next >= 0) fetch(next);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::load_matrix_sync(a, s_p + wr * 16 * LDH + kk * 16, LDH);
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
        wmma::load_matrix_sync(b, s_k + kk * 16 * LDH + (wc0 + c) * 16, LDH);
        wmma::mma_sync(o[c], a, b, o[c]);
      }
    }
    __syncthreads();
    level = next;
  }

#pragma unroll
  for (int c = 0; c < 2; ++c) {
    wmma::store_matrix_sync(s_f + wr * 16 * LDF + (wc0 + c) * 16, o[c], LDF, wmma::mem_row_major);
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < C * D; idx += kThreads) {
    const int t = idx / D, j = idx % D;
    if (t < rows && j < dv) out[(bh * seq_len + row0 + t) * dv + j] = FromFloat<T>(s_f[t * LDF + j]);
  }
}

// Launches one variant: chunk and block states (no states for a single chunk), then the
// query kernel. Its dynamic shared memory above 48 KiB is opted into once per device and
// kernel (not a stream operation, and kept out of CUDA-graph capture after the first eager
// call). `smem_bytes(levels)` is the variant's shared-memory size for that many levels.
template <typename T, auto kStatesKernel, auto kQueryKernel, typename SmemBytes>
cudaError_t LaunchVariant(SmemBytes smem_bytes, const void* q, const void* k, const void* v,
                          const void* lambda, void* out, float* states, int* counters, int64_t bh,
                          int64_t seq_len, int dk, int dv, int num_lambda, int levels,
                          cudaStream_t stream) {
  const int64_t num_chunks = (seq_len + C - 1) / C;
  const int64_t blocks = LogLinearNumBlocks(num_chunks);
  const dim3 grid(static_cast<unsigned>(num_chunks), static_cast<unsigned>(bh));
  if (num_chunks > 1) {
    kStatesKernel<<<grid, kThreads, 0, stream>>>(static_cast<const T*>(k),
                                                  static_cast<const T*>(v), states, counters,
                                                  seq_len, dk, dv, num_chunks, blocks);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  static std::atomic<bool> configured[64] = {};
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return err;
  if (device < 0 || device >= 64 || !configured[device].load()) {
    err = cudaFuncSetAttribute(kQueryKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               smem_bytes(kLogLinearMaxLevels));
    if (err != cudaSuccess) return err;
    if (device >= 0 && device < 64) configured[device].store(true);
  }
  kQueryKernel<<<grid, kThreads, smem_bytes(levels), stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
      static_cast<const T*>(lambda), static_cast<T*>(out), states, seq_len, dk, dv, num_lambda,
      levels, num_chunks, blocks);
  return cudaGetLastError();
}

}  // namespace

int64_t LogLinearNumBlocks(int64_t num_chunks) {
  int64_t total = 0;
  for (int64_t n = num_chunks; n > 0; n >>= 1) total += n;
  return total;
}

cudaError_t LaunchLogLinearFused(KernelDtype dtype, const void* q, const void* k,
                                 const void* v, const void* lambda, void* out, float* states,
                                 int* counters, int64_t bh, int64_t seq_len, int dk, int dv,
                                 int num_lambda, int levels_needed, cudaStream_t stream) {
  if (bh <= 0 || seq_len <= 0) return cudaSuccess;
  if (dk > D || dv > D || dk <= 0 || dv <= 0 || levels_needed > kLogLinearMaxLevels ||
      levels_needed > num_lambda || bh > 65535) {
    return cudaErrorInvalidValue;
  }
  const auto fp32_smem = [](int levels) { return QuerySmemBytes(levels); };
  const auto tc_smem = [](int bytes_per_element) {
    return [bytes_per_element](int levels) { return QuerySmemBytesTC(levels, bytes_per_element); };
  };
  switch (dtype) {
    case KernelDtype::kFloat32:
      return LaunchVariant<float, ChunkStatesKernel<float>, QueryKernel<float>>(
          fp32_smem, q, k, v, lambda, out, states, counters, bh, seq_len, dk, dv, num_lambda,
          levels_needed, stream);
    case KernelDtype::kFloat16:
      return LaunchVariant<__half, ChunkStatesKernelTC<__half>, QueryKernelTC<__half>>(
          tc_smem(static_cast<int>(sizeof(__half))), q, k, v, lambda, out, states, counters, bh,
          seq_len, dk, dv, num_lambda, levels_needed, stream);
    case KernelDtype::kBFloat16:
      return LaunchVariant<__nv_bfloat16, ChunkStatesKernelTC<__nv_bfloat16>,
                           QueryKernelTC<__nv_bfloat16>>(
          tc_smem(static_cast<int>(sizeof(__nv_bfloat16))), q, k, v, lambda, out, states,
          counters, bh, seq_len, dk, dv, num_lambda, levels_needed, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda_kernels
}  // namespace vidserve

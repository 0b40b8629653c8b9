// Internal interface between the LibTorch wrapper (loglinear_fused.cc, host compiler) and the
// CUDA kernels (loglinear_fused.cu, nvcc). No torch headers here, so nvcc never parses them.
#ifndef VIDSERVE_MODEL_CUDA_LOGLINEAR_FUSED_KERNELS_H_
#define VIDSERVE_MODEL_CUDA_LOGLINEAR_FUSED_KERNELS_H_

#include <cstdint>

#include <cuda_runtime_api.h>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {
namespace cuda_kernels {


// Tile (chunk) length used by the kernels and the largest head dims they take.
constexpr int kLogLinearChunk = 64;
constexpr int kLogLinearMaxHeadDim = 64;
constexpr int kLogLinearMaxLevels = 40;

// Number of fp32 [64, 64] block states per (batch, head) for `num_chunks` chunks: every
// complete aligned block of 2^j chunks for j >= 0 (< 2 * num_chunks).
int64_t LogLinearNumBlocks(int64_t num_chunks);

// q, k [BH, T, dk], v [BH, T, dv], lambda [BH, T, num_lambda], out [BH, T, dv], all
// contiguous and of `dtype` (the element type of q, k, v, lambda and the output). `states` holds BH * LogLinearNumBlocks(chunks) * 64 * 64 floats
// (no initialisation needed); `counters` holds BH * LogLinearNumBlocks(chunks) ints, ZERO on
// entry. Two kernel launches on `stream`. Returns the launch error, if any.
cudaError_t LaunchLogLinearFused(KernelDtype dtype, const void* q, const void* k,
                                 const void* v, const void* lambda, void* out, float* states,
                                 int* counters, int64_t bh, int64_t seq_len, int dk, int dv,
                                 int num_lambda, int levels_needed, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_LOGLINEAR_FUSED_KERNELS_H_

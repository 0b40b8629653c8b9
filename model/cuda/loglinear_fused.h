// Fused CUDA forward of causal Fenwick log-linear attention (compiled only when CUDA is
// found: VIDSERVE_HAVE_CUDA). Same inputs and result as LogLinearAttentionChunkwise in
// model/mixers/loglinear_attention.h; that LibTorch path stays the fallback and the oracle.
// Forward only (no autograd): callers route to it only when no gradient is needed.
#ifndef VIDSERVE_MODEL_CUDA_LOGLINEAR_FUSED_H_
#define VIDSERVE_MODEL_CUDA_LOGLINEAR_FUSED_H_

#include <torch/torch.h>

namespace vidserve {

// True when the fused kernels take these inputs: CUDA tensors on one device, q/k/v of one
// dtype in {float32, float16, bfloat16}, Dk <= 64 and Dv <= 64, ceil(log2 T) + 1 <= 40,
// B * H <= 65535. Shapes must already be valid for LogLinearAttentionChunkwise.
bool LogLinearFusedSupported(const torch::Tensor& q, const torch::Tensor& k,
                             const torch::Tensor& v, const torch::Tensor& lambda);

// q, k [B, H, T, Dk], v [B, H, T, Dv], lambda [B, H, T, L >= FenwickNumLevels(T)] ->
// [B, H, T, Dv] in q's dtype. Two kernel launches (plus a counter memset); fp32
// accumulation and fp32 Fenwick block states. The kernels always tile time in chunks of 64;
// `chunk_size` (a power of two, as for the LibTorch path) is checked but does not change the
// result, which is exact for any chunk size.
torch::Tensor LogLinearAttentionFusedCuda(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda,
                                          int64_t chunk_size);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_LOGLINEAR_FUSED_H_

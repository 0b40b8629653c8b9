// Fenwick log-linear attention (Guo et al., 2025, arXiv 2506.04761), without decay or
// feature map. For query t and key s <= t the level is l(t, s) = bit_length(t XOR s)
// (l(t, t) = 0), and
//     o_t = sum_{s <= t} lambda_t[l(t, s)] * (q_t . k_s) * v_s.
// Keys at one level for one query form one aligned block of the Fenwick decomposition of
// t, so a query needs only ceil(log2 T) + 1 summary states.
//
// Three equivalent forms on q, k [B, H, T, Dk], v [B, H, T, Dv], lambda [B, H, T, L] with
// L >= FenwickNumLevels(T); all are causal:
//   - LogLinearAttentionReference: the materialised O(T^2) matrix (tests, debugging);
//   - LogLinearAttentionChunkwise: O(T log T), dense inside power-of-two chunks and one
//     batched matmul per Fenwick level above the chunk;
//   - LogLinearAttentionStep: one token at a time with O(log T) states (streaming).
// Bidirectional use (a causal pass plus a pass over the reversed sequence) is in
// LogLinearAttention, the token mixer module.
#ifndef VIDSERVE_MODEL_MIXERS_LOGLINEAR_ATTENTION_H_
#define VIDSERVE_MODEL_MIXERS_LOGLINEAR_ATTENTION_H_

#include <vector>

#include "model/mixers/token_mixer.h"

namespace vidserve {

// bit_length(t XOR s): the Fenwick level of key s for query t.
int64_t FenwickLevel(int64_t t, int64_t s);

// ceil(log2 T) + 1 levels cover every (t, s) pair of a length-T sequence (1 for T <= 1).
int64_t FenwickNumLevels(int64_t seq_len);

// [n, n] int64 matrix of FenwickLevel(t, s) for all t, s < n (both triangles).
torch::Tensor FenwickLevelMatrix(int64_t n, const torch::Device& device);

torch::Tensor LogLinearAttentionReference(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda);

// chunk_size must be a power of two; it is lowered to the next power of two >= T for short
// sequences. Work O(T C (Dk + Dv) + T log(T / C) Dk Dv), memory O(T (C + Dk + Dv)).
// On CUDA builds, CUDA inputs that need no gradient (grad mode off or no input requiring
// grad) with Dk, Dv <= 64 in fp32/fp16/bf16 go to the fused kernels of
// model/cuda/loglinear_fused.h (same result; set VIDSERVE_LOGLINEAR_FUSED=0 to disable);
// everything else runs LogLinearAttentionChunkwiseTorch.
torch::Tensor LogLinearAttentionChunkwise(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda,
                                          int64_t chunk_size);

// The chunkwise form composed of LibTorch ops only (any device, autograd): the fallback of
// LogLinearAttentionChunkwise and the oracle of the fused kernels.
torch::Tensor LogLinearAttentionChunkwiseTorch(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v,
                                               const torch::Tensor& lambda, int64_t chunk_size);

// Whether LogLinearAttentionChunkwise may use the fused CUDA kernels: false on CPU-only
// builds or when the environment sets VIDSERVE_LOGLINEAR_FUSED=0 (read once).
bool LogLinearFusedEnabled();

// Streaming state: buckets[l - 1] = sum of k_s v_s^T over the level-l bucket of the next
// query (undefined when that bucket is empty). At most bit_length(position) buckets.
struct LogLinearState {
  int64_t position = 0;
  std::vector<torch::Tensor> buckets;
};

// One token: q, k [B, H, Dk], v [B, H, Dv], lambda [B, H, L] -> o [B, H, Dv]. Appends the
// token to `state` with the Fenwick carry rule: the new token and the buckets of the
// trailing one bits of its position merge into one bucket.
torch::Tensor LogLinearAttentionStep(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& lambda,
                                     LogLinearState* state);

// LogLinearAttentionStep over the whole sequence from an empty state ([B, H, T, *]).
torch::Tensor LogLinearAttentionRecurrent(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda);

// The token mixer: q, k, v and per-head level weights lambda = softplus(W x) projected
// from x. q and k are L2-normalised per head (so |q . k| <= 1) and each head's output is
// RMS-normalised before the output projection, because without decay the sum over keys
// grows with T.
class LogLinearAttention : public TokenMixer {
 public:
  explicit LogLinearAttention(const TokenMixerOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;  // [B, N, D] -> [B, N, D]
  std::string kind() const override { return "loglinear"; }

 private:
  TokenMixerOptions options_;
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear level_weights_{nullptr};
  torch::nn::Linear out_{nullptr};
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MIXERS_LOGLINEAR_ATTENTION_H_

// Softmax multi-head self-attention, the baseline token mixer. Uses fused
// scaled-dot-product attention where LibTorch has it (2.x: flash/mem-efficient kernels on
// CUDA), else the explicit softmax(QK^T/sqrt(d))V.
#ifndef VIDSERVE_MODEL_MIXERS_SOFTMAX_ATTENTION_H_
#define VIDSERVE_MODEL_MIXERS_SOFTMAX_ATTENTION_H_

#include "model/mixers/token_mixer.h"

namespace vidserve {

// q, k, v: [B, H, N, Dh]. Causal masks keys s > t for query t.
torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, bool causal);

class SoftmaxAttention : public TokenMixer {
 public:
  explicit SoftmaxAttention(const TokenMixerOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;  // [B, N, D] -> [B, N, D]
  std::string kind() const override { return "softmax"; }

 private:
  TokenMixerOptions options_;
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear out_{nullptr};
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MIXERS_SOFTMAX_ATTENTION_H_

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

// Runs in float32 whatever the input dtype or CUDA autocast (returns the input's dtype).
// With options.qk_norm, q and k are RMS-normalized per head and scaled by the learned
// gains q_norm / k_norm ([dim], one per channel). Thread-safety as any torch module:
// concurrent forwards without grad are safe.
class SoftmaxAttention : public TokenMixer {
 public:
  explicit SoftmaxAttention(const TokenMixerOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;  // [B, N, D] -> [B, N, D]
  std::string kind() const override { return "softmax"; }

  // Diagnostics: while a probe is set, every forward also computes its attention logits
  // (q·k / sqrt(head dim), causally masked ones included) explicitly and raises
  // *max_abs_logit to their largest magnitude.
  // nullptr (the default) turns it off. Not thread-safe while set.
  void set_logit_probe(double* max_abs_logit) { logit_probe_ = max_abs_logit; }

 private:
  // x [B, H, N, Dh] -> RMS-normalized over Dh, times gain [D] viewed as [H, Dh].
  torch::Tensor NormalizeHeads(const torch::Tensor& x, const torch::Tensor& gain) const;

  TokenMixerOptions options_;
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear out_{nullptr};
  torch::Tensor q_norm_, k_norm_;  // qk_norm gains, [D]; undefined without qk_norm
  double* logit_probe_ = nullptr;
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MIXERS_SOFTMAX_ATTENTION_H_

// The token mixer interface of the denoiser: x [B, N, D] -> [B, N, D] over a sequence of
// N tokens. Implementations: softmax attention (softmax_attention.h), Fenwick log-linear
// attention (loglinear_attention.h), MesaNet (mesa_net.h). Each owns its projections.
// Internal to model/: includes torch.
#ifndef VIDSERVE_MODEL_MIXERS_TOKEN_MIXER_H_
#define VIDSERVE_MODEL_MIXERS_TOKEN_MIXER_H_

#include <memory>
#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"

namespace vidserve {

struct TokenMixerOptions {
  std::string kind = "softmax";  // "softmax" | "loglinear" | "mesa"
  int64_t dim = 128;
  int64_t num_heads = 4;
  // Linear mixers are causal; bidirectional = forward pass + pass over the reversed
  // sequence, summed. Softmax attention is simply unmasked when bidirectional.
  bool bidirectional = true;
  // Tokens per chunk of the chunkwise log-linear form; a power of two.
  int64_t loglinear_chunk_size = 64;
  // Size of the per-head level-weight projection; sequences up to 2^(levels-1) tokens.
  int64_t loglinear_max_levels = 24;
  // Tokens per chunk of the chunkwise MesaNet form (any positive value).
  int64_t mesa_chunk_size = 64;
  // Fixed number of (Jacobi-preconditioned) conjugate-gradient steps per token.
  int64_t mesa_cg_steps = 16;
  // Softmax attention only: RMS-normalize queries and keys per head (learned per-channel
  // gains) before their dot product, which bounds the attention logits (QK-norm, as in
  // SD3 and ViT-22B); without it the trained denoiser's logits grew past 3,000 and its
  // training diverged in bf16.
  bool qk_norm = false;
};

class TokenMixer : public torch::nn::Module {
 public:
  ~TokenMixer() override = default;
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual std::string kind() const = 0;
};

absl::StatusOr<std::shared_ptr<TokenMixer>> MakeTokenMixer(const TokenMixerOptions& options);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MIXERS_TOKEN_MIXER_H_

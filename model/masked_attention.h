// Multi-head attention from queries x [B, N, D] to a context [B, L, Dc] with a key padding
// mask [B, L] (true = real token). Used for the text encoder's self-attention and the
// denoiser's cross-attention to text tokens; prompts of different lengths are padded to
// one length in a batch, and the mask makes padding contribute exactly nothing, so a
// batched result equals the unbatched one.
//
// Thread-safety: as torch::nn::Module (concurrent forward() only without mutation).
#ifndef VIDSERVE_MODEL_MASKED_ATTENTION_H_
#define VIDSERVE_MODEL_MASKED_ATTENTION_H_

#include <torch/torch.h>

namespace vidserve {

struct MaskedAttentionOptions {
  MaskedAttentionOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);  // query and output width; divisible by num_heads
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, context_dim) = 0;  // key/value input width; 0 = dim (self-attention)
};

class MaskedAttentionImpl : public torch::nn::Cloneable<MaskedAttentionImpl> {
 public:
  explicit MaskedAttentionImpl(const MaskedAttentionOptions& options);
  void reset() override;
  // Every row of `mask` must have at least one true entry.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context,
                        const torch::Tensor& mask);

  MaskedAttentionOptions options;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
};
TORCH_MODULE(MaskedAttention);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MASKED_ATTENTION_H_

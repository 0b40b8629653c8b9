// Byte-level text encoder: the prompt's UTF-8 bytes (vocabulary 256 + pad + bos, so no
// tokenizer file to download) through a small pre-LN transformer. The empty prompt encodes
// to just the bos token and serves as the unconditional embedding for classifier-free
// guidance.
//
// Thread-safety: as torch::nn::Module (concurrent forward() only without mutation).
#ifndef VIDSERVE_MODEL_TEXT_ENCODER_H_
#define VIDSERVE_MODEL_TEXT_ENCODER_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/masked_attention.h"

namespace vidserve {

constexpr int64_t kTextPadToken = 256;
constexpr int64_t kTextBosToken = 257;
constexpr int64_t kTextVocabSize = 258;

// What the denoiser is conditioned on. Rows may come from different prompts padded to one
// length L; `mask` marks the real tokens.
struct TextEmbedding {
  torch::Tensor tokens;  // [B, L, text_dim] float
  torch::Tensor mask;    // [B, L] bool, true = real token (bos always true)
  torch::Tensor pooled;  // [B, text_dim] float, masked mean of tokens
};

// Concatenates along the batch, padding token sequences to the longest with masked zeros.
TextEmbedding ConcatTextEmbeddings(const std::vector<TextEmbedding>& parts);
// Rows `index` (a [K] int64 tensor) of `text`.
TextEmbedding SelectTextRows(const TextEmbedding& text, const torch::Tensor& index);

// bos followed by the prompt's bytes, cut at max_bytes on a UTF-8 character boundary.
std::vector<int64_t> TokenizePrompt(const std::string& prompt, int64_t max_bytes);

struct TextEncoderOptions {
  TORCH_ARG(int64_t, dim) = 128;
  TORCH_ARG(int64_t, num_layers) = 2;
  TORCH_ARG(int64_t, num_heads) = 4;
  TORCH_ARG(int64_t, mlp_ratio) = 4;
  TORCH_ARG(int64_t, max_prompt_bytes) = 256;  // positions = max_prompt_bytes + 1 (bos)
};

// One pre-LN transformer layer of the text encoder (bidirectional, masked).
class TextEncoderLayerImpl : public torch::nn::Cloneable<TextEncoderLayerImpl> {
 public:
  explicit TextEncoderLayerImpl(const TextEncoderOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

  TextEncoderOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  MaskedAttention attention{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TextEncoderLayer);

class TextEncoderImpl : public torch::nn::Cloneable<TextEncoderImpl> {
 public:
  explicit TextEncoderImpl(const TextEncoderOptions& options = {});
  void reset() override;
  // tokens [B, L] int64 (pad = kTextPadToken), mask [B, L] bool.
  TextEmbedding forward(const torch::Tensor& tokens, const torch::Tensor& mask);
  // Tokenizes, pads and encodes prompts on `device`.
  TextEmbedding Encode(const std::vector<std::string>& prompts, const torch::Device& device);

  TextEncoderOptions options;

 private:
  torch::nn::Embedding token_embedding_{nullptr};
  torch::Tensor position_embedding_;  // [max_prompt_bytes + 1, dim]
  std::vector<TextEncoderLayer> layers_;
  torch::nn::LayerNorm norm_out_{nullptr};
};
TORCH_MODULE(TextEncoder);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_TEXT_ENCODER_H_

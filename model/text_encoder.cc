#include "model/text_encoder.h"

#include <algorithm>

namespace vidserve {

TextEmbedding ConcatTextEmbeddings(const std::vector<TextEmbedding>& parts) {
  int64_t max_len = 0;
  for (const auto& p : parts) max_len = std::max(max_len, p.tokens.size(1));
  std::vector<torch::Tensor> tokens, masks, pooled;
  for (const auto& p : parts) {
    const int64_t pad = max_len - p.tokens.size(1);
    if (pad == 0) {
      tokens.push_back(p.tokens);
      masks.push_back(p.mask);
    } else {
      tokens.push_back(torch::cat(
          {p.tokens, torch::zeros({p.tokens.size(0), pad, p.tokens.size(2)}, p.tokens.options())},
          1));
      masks.push_back(
          torch::cat({p.mask, torch::zeros({p.mask.size(0), pad}, p.mask.options())}, 1));
    }
    pooled.push_back(p.pooled);
  }
  return {torch::cat(tokens, 0), torch::cat(masks, 0), torch::cat(pooled, 0)};
}

TextEmbedding SelectTextRows(const TextEmbedding& text, const torch::Tensor& index) {
  return {text.tokens.index_select(0, index), text.mask.index_select(0, index),
          text.pooled.index_select(0, index)};
}

std::vector<int64_t> TokenizePrompt(const std::string& prompt, int64_t max_bytes) {
  size_t end =
      std::min<size_t>(prompt.size(), static_cast<size_t>(std::max<int64_t>(0, max_bytes)));
  // Never split a multi-byte character: back up over continuation bytes (10xxxxxx).
  if (end < prompt.size()) {
    while (end > 0 && (static_cast<unsigned char>(prompt[end]) & 0xC0) == 0x80) --end;
  }
  std::vector<int64_t> ids;
  ids.reserve(end + 1);
  ids.push_back(kTextBosToken);
  for (size_t i = 0; i < end; ++i) ids.push_back(static_cast<unsigned char>(prompt[i]));
  return ids;
}

TextEncoderLayerImpl::TextEncoderLayerImpl(const TextEncoderOptions& options_) : options(options_) {
  reset();
}

void TextEncoderLayerImpl::reset() {
  const int64_t d = options.dim();
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  attention =
      register_module("attention", MaskedAttention(MaskedAttentionOptions(d, options.num_heads())));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc1 = register_module("fc1", torch::nn::Linear(d, options.mlp_ratio() * d));
  fc2 = register_module("fc2", torch::nn::Linear(options.mlp_ratio() * d, d));
}

torch::Tensor TextEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto h = norm1->forward(x);
  auto y = x + attention->forward(h, h, mask);
  return y + fc2->forward(torch::gelu(fc1->forward(norm2->forward(y))));
}

TextEncoderImpl::TextEncoderImpl(const TextEncoderOptions& options_) : options(options_) {
  reset();
}

void TextEncoderImpl::reset() {
  const int64_t d = options.dim();
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(kTextVocabSize, d));
  position_embedding_ = register_parameter(
      "position_embedding", torch::randn({options.max_prompt_bytes() + 1, d}) * 0.02);
  layers_.clear();
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    layers_.push_back(register_module("layer" + std::to_string(i), TextEncoderLayer(options)));
  }
  norm_out_ = register_module("norm_out", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
}

TextEmbedding TextEncoderImpl::forward(const torch::Tensor& tokens, const torch::Tensor& mask) {
  const int64_t len = tokens.size(1);
  auto x = token_embedding_->forward(tokens) + position_embedding_.narrow(0, 0, len).unsqueeze(0);
  for (auto& layer : layers_) x = layer->forward(x, mask);
  x = norm_out_->forward(x);
  auto keep = mask.to(x.scalar_type()).unsqueeze(-1);
  // Padding rows are zeroed so that concatenating embeddings of different lengths (which
  // pads with zeros) is indistinguishable from encoding them together.
  x = x * keep;
  auto pooled = x.sum(1) / keep.sum(1).clamp_min(1.0);
  return {x, mask.to(torch::kBool), pooled};
}

TextEmbedding TextEncoderImpl::Encode(const std::vector<std::string>& prompts,
                                      const torch::Device& device) {
  std::vector<std::vector<int64_t>> ids;
  size_t max_len = 1;
  for (const auto& p : prompts) {
    ids.push_back(TokenizePrompt(p, options.max_prompt_bytes()));
    max_len = std::max(max_len, ids.back().size());
  }
  const int64_t b = static_cast<int64_t>(prompts.size()), l = static_cast<int64_t>(max_len);
  auto tokens = torch::full({b, l}, kTextPadToken, torch::kLong);
  auto mask = torch::zeros({b, l}, torch::kBool);
  auto tokens_a = tokens.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<bool, 2>();
  for (int64_t i = 0; i < b; ++i) {
    for (size_t j = 0; j < ids[i].size(); ++j) {
      tokens_a[i][j] = ids[i][j];
      mask_a[i][j] = true;
    }
  }
  return forward(tokens.to(device), mask.to(device));
}

}  // namespace vidserve

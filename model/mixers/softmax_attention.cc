#include "model/mixers/softmax_attention.h"

#include <torch/version.h>

#include <cmath>

namespace vidserve {

torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (causal) {
    const int64_t n = q.size(-2);
    auto mask = torch::ones({n, k.size(-2)}, q.options().dtype(torch::kBool)).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

SoftmaxAttention::SoftmaxAttention(const TokenMixerOptions& options) : options_(options) {
  qkv_ = register_module("qkv", torch::nn::Linear(options.dim, 3 * options.dim));
  out_ = register_module("out", torch::nn::Linear(options.dim, options.dim));
}

torch::Tensor SoftmaxAttention::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), h = options_.num_heads;
  const int64_t dh = options_.dim / h;
  // The key bias is not used. It adds q·b_k to every logit in a query's row, which softmax
  // ignores, so it gets no gradient in exact arithmetic; but bf16 rounding noise, scaled up
  // by AdamW (biases have no weight decay), random-walked it to |b_k| ~ 40 in the trained
  // denoiser, where it costs bf16 keys their precision, and two training rounds diverged.
  // Leaving it out changes no output in exact arithmetic; its stored values are ignored.
  const torch::Tensor& full_bias = qkv_->bias;
  const torch::Tensor bias =
      torch::cat({full_bias.slice(0, 0, options_.dim),
                  torch::zeros_like(full_bias.slice(0, options_.dim, 2 * options_.dim)),
                  full_bias.slice(0, 2 * options_.dim)});
  auto qkv = torch::nn::functional::linear(x, qkv_->weight, bias)
                 .view({b, n, 3, h, dh})
                 .permute({2, 0, 3, 1, 4});
  auto o = ScaledDotProductAttention(qkv[0], qkv[1], qkv[2], /*causal=*/!options_.bidirectional);
  return out_->forward(o.transpose(1, 2).reshape({b, n, options_.dim}));
}

}  // namespace vidserve

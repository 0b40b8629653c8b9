#include "model/mixers/softmax_attention.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>

#include "model/cuda_autocast.h"

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
  if (options.qk_norm) {
    q_norm_ = register_parameter("q_norm", torch::ones({options.dim}));
    k_norm_ = register_parameter("k_norm", torch::ones({options.dim}));
  }
}

torch::Tensor SoftmaxAttention::NormalizeHeads(const torch::Tensor& x,
                                               const torch::Tensor& gain) const {
  const torch::Tensor normalized = x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6);
  const int64_t h = options_.num_heads;
  return normalized * gain.view({1, h, 1, options_.dim / h});
}

torch::Tensor SoftmaxAttention::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), h = options_.num_heads;
  const int64_t dh = options_.dim / h;
  // Attention runs in float32 even under bf16 autocast (training). The trained denoiser's
  // deepest layers sharpened their attention until logits passed 3,000, where a bf16 logit
  // is only good to +-16: the attention pattern turned to rounding noise and four training
  // rounds diverged. From the same start in float32 a round ran clean and the logits shrank
  // (BENCHMARKS.md section 5, "Rounds c19-c22"). Inference already runs in float32.
  const CudaAutocastOff float32_attention;
  const torch::Tensor x32 = x.to(torch::kFloat32);
  // The key bias is not used either. It adds q·b_k to every logit in a query's row, which
  // softmax ignores, so it gets no gradient in exact arithmetic; in bf16 it drifted to
  // |b_k| ~ 40, where it costs the keys their precision. Leaving it out changes no output
  // in exact arithmetic; its stored values are ignored.
  const torch::Tensor& full_bias = qkv_->bias;
  const torch::Tensor bias =
      torch::cat({full_bias.slice(0, 0, options_.dim),
                  torch::zeros_like(full_bias.slice(0, options_.dim, 2 * options_.dim)),
                  full_bias.slice(0, 2 * options_.dim)});
  auto qkv = torch::nn::functional::linear(x32, qkv_->weight, bias)
                 .view({b, n, 3, h, dh})
                 .permute({2, 0, 3, 1, 4});
  torch::Tensor q = qkv[0], k = qkv[1];
  if (options_.qk_norm) {
    q = NormalizeHeads(q, q_norm_);
    k = NormalizeHeads(k, k_norm_);
  }
  if (logit_probe_ != nullptr) {
    torch::NoGradGuard no_grad;
    const double largest =
        (torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh)))
            .abs()
            .max()
            .item<double>();
    *logit_probe_ = std::max(*logit_probe_, largest);
  }
  auto o = ScaledDotProductAttention(q, k, qkv[2], /*causal=*/!options_.bidirectional);
  return out_->forward(o.transpose(1, 2).reshape({b, n, options_.dim})).to(x.scalar_type());
}

}  // namespace vidserve

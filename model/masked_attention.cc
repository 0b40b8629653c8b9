#include "model/masked_attention.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

namespace vidserve {

MaskedAttentionImpl::MaskedAttentionImpl(const MaskedAttentionOptions& options_)
    : options(options_) {
  reset();
}

void MaskedAttentionImpl::reset() {
  const int64_t d = options.dim();
  const int64_t dc = options.context_dim() > 0 ? options.context_dim() : d;
  q = register_module("q", torch::nn::Linear(d, d));
  k = register_module("k", torch::nn::Linear(dc, d));
  v = register_module("v", torch::nn::Linear(dc, d));
  out = register_module("out", torch::nn::Linear(d, d));
}

torch::Tensor MaskedAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                           const torch::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), l = context.size(1);
  const int64_t h = options.num_heads(), dh = options.dim() / h;
  auto qh = q->forward(x).view({b, n, h, dh}).transpose(1, 2);
  auto kh = k->forward(context).view({b, l, h, dh}).transpose(1, 2);
  auto vh = v->forward(context).view({b, l, h, dh}).transpose(1, 2);
  auto keep = mask.to(torch::kBool).view({b, 1, 1, l});
#if TORCH_VERSION_MAJOR >= 2
  auto o = at::scaled_dot_product_attention(qh, kh, vh, keep);
#else
  auto scores = torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
  scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
  auto o = torch::matmul(torch::softmax(scores, -1), vh);
#endif
  return out->forward(o.transpose(1, 2).reshape({b, n, options.dim()}));
}

}  // namespace vidserve

// Softmax attention: the key bias is left out of the forward pass (see softmax_attention.cc),
// which must change no output against attention computed with it, since softmax ignores a
// shift that is constant along a query's row; it computes in float32 whatever the input
// dtype or CUDA autocast; QK-norm makes it blind to the scale of queries and keys.
#include "model/mixers/softmax_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "model/cuda_autocast.h"

namespace vidserve {
namespace {

constexpr int64_t kDim = 32;
constexpr int64_t kHeads = 4;

std::shared_ptr<SoftmaxAttention> MakeAttention(bool bidirectional, bool qk_norm = false) {
  TokenMixerOptions options;
  options.qk_norm = qk_norm;
  options.kind = "softmax";
  options.dim = kDim;
  options.num_heads = kHeads;
  options.bidirectional = bidirectional;
  torch::manual_seed(11);
  auto attention = std::make_shared<SoftmaxAttention>(options);
  torch::NoGradGuard no_grad;
  // Biases as large as the trained denoiser's (|b_k| ~ 40 over 192 channels there).
  for (auto& p : attention->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().normal_(0, 3);
  }
  return attention;
}

// q, k and v of each head in float64: [3, B, H, N, Dh], with the key bias or without it.
torch::Tensor Float64Qkv(SoftmaxAttention& attention, const torch::Tensor& x, bool key_bias) {
  const auto params = attention.named_parameters();
  auto bias = params["qkv.bias"].to(torch::kFloat64);
  if (!key_bias) bias.slice(0, kDim, 2 * kDim).zero_();
  const auto qkv =
      torch::matmul(x.to(torch::kFloat64), params["qkv.weight"].to(torch::kFloat64).t()) + bias;
  return qkv.view({x.size(0), x.size(1), 3, kHeads, kDim / kHeads}).permute({2, 0, 3, 1, 4});
}

// Scaled dot-product logits of float64 q, k, v: [B, H, N, N].
torch::Tensor Logits(const torch::Tensor& qkv) {
  return torch::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(double(kDim / kHeads));
}

// Multi-head attention written out in float64, with every bias, key bias included.
torch::Tensor ReferenceWithKeyBias(SoftmaxAttention& attention, const torch::Tensor& x,
                                   bool causal) {
  const int64_t b = x.size(0), n = x.size(1);
  const auto qkv = Float64Qkv(attention, x, /*key_bias=*/true);
  auto scores = Logits(qkv);
  if (causal) {
    auto mask = torch::ones({n, n}, torch::kBool).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  }
  auto o = torch::matmul(torch::softmax(scores, -1), qkv[2]).transpose(1, 2).reshape({b, n, kDim});
  const auto params = attention.named_parameters();
  return (torch::matmul(o, params["out.weight"].to(torch::kFloat64).t()) +
          params["out.bias"].to(torch::kFloat64))
      .to(torch::kFloat32);
}

TEST(SoftmaxAttention, LeavingOutTheKeyBiasChangesNoOutput) {
  for (bool bidirectional : {false, true}) {
    auto attention = MakeAttention(bidirectional);
    torch::manual_seed(3);
    const auto x = torch::randn({2, 23, kDim});
    const auto y = attention->forward(x);
    const auto reference = ReferenceWithKeyBias(*attention, x, !bidirectional);
    EXPECT_TRUE(torch::allclose(y, reference, /*rtol=*/1e-4, /*atol=*/1e-4))
        << "bidirectional=" << bidirectional << " max diff "
        << (y - reference).abs().max().item<double>();
    // The key bias's stored values do not matter; the query and value biases do.
    auto bias = attention->named_parameters()["qkv.bias"];
    for (int64_t part : {0, 1, 2}) {
      torch::Tensor saved;
      {
        torch::NoGradGuard no_grad;
        saved = bias.slice(0, part * kDim, (part + 1) * kDim).clone();
        bias.slice(0, part * kDim, (part + 1) * kDim).add_(5.0);
      }
      const bool unchanged = torch::equal(attention->forward(x), y);
      EXPECT_EQ(unchanged, part == 1) << "bias part " << part;
      torch::NoGradGuard no_grad;
      bias.slice(0, part * kDim, (part + 1) * kDim).copy_(saved);
    }
  }
}

TEST(SoftmaxAttention, KeyBiasGetsNoGradient) {
  auto attention = MakeAttention(/*bidirectional=*/true);
  torch::manual_seed(5);
  attention->forward(torch::randn({2, 17, kDim})).pow(2).sum().backward();
  const auto grad = attention->named_parameters()["qkv.bias"].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_EQ(grad.slice(0, kDim, 2 * kDim).abs().max().item<float>(), 0.0f);
  EXPECT_GT(grad.slice(0, 0, kDim).abs().max().item<float>(), 0.0f);
  EXPECT_GT(grad.slice(0, 2 * kDim).abs().max().item<float>(), 0.0f);
}

TEST(SoftmaxAttention, ComputesInFloat32WhateverTheInputDtype) {
  auto attention = MakeAttention(/*bidirectional=*/true);
  torch::manual_seed(6);
  const auto x = torch::randn({2, 19, kDim}).to(torch::kBFloat16);
  torch::NoGradGuard no_grad;
  const auto y = attention->forward(x);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  // Exactly the float32 result on the same (bf16-valued) input, rounded once at the end.
  EXPECT_TRUE(torch::equal(y, attention->forward(x.to(torch::kFloat32)).to(torch::kBFloat16)));
}

TEST(SoftmaxAttention, CudaAutocastDoesNotReachTheLogits) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto attention = MakeAttention(/*bidirectional=*/true);
  attention->to(torch::kCUDA);
  torch::manual_seed(8);
  const auto x = torch::randn({2, 19, kDim}, torch::kCUDA);
  torch::NoGradGuard no_grad;
  const auto plain = attention->forward(x);
  const bool was_enabled = CudaAutocastEnabled();
  const int dtype = CudaAutocastDtype();
  SetCudaAutocast(true, static_cast<int>(torch::kBFloat16));
  const auto under_autocast = attention->forward(x);
  EXPECT_TRUE(CudaAutocastEnabled()) << "the guard must restore autocast";
  SetCudaAutocast(was_enabled, dtype);
  EXPECT_EQ(under_autocast.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(under_autocast, plain));
}

TEST(SoftmaxAttention, LogitProbeRecordsTheLargestLogitWhileSet) {
  auto attention = MakeAttention(/*bidirectional=*/true);
  torch::manual_seed(10);
  const auto small = torch::randn({2, 13, kDim});
  const auto large = small * 3;
  auto largest_logit = [&](const torch::Tensor& x) {  // key bias left out, as in forward
    return Logits(Float64Qkv(*attention, x, /*key_bias=*/false)).abs().max().item<double>();
  };
  torch::NoGradGuard no_grad;
  double probe = 0;
  attention->set_logit_probe(&probe);
  attention->forward(large);
  EXPECT_NEAR(probe, largest_logit(large), 1e-3 * largest_logit(large));
  const double after_large = probe;
  attention->forward(small);  // smaller logits leave the maximum where it was
  EXPECT_EQ(probe, after_large);
  attention->set_logit_probe(nullptr);
  probe = 0;
  attention->forward(large);
  EXPECT_EQ(probe, 0);
}

TEST(SoftmaxAttention, QkNormIgnoresTheScaleOfQueriesAndKeys) {
  for (bool qk_norm : {false, true}) {
    auto attention = MakeAttention(/*bidirectional=*/true, qk_norm);
    const auto params = attention->named_parameters();
    EXPECT_EQ(params.contains("q_norm"), qk_norm);
    EXPECT_EQ(params.contains("k_norm"), qk_norm);
    torch::manual_seed(9);
    const auto x = torch::randn({2, 21, kDim});
    torch::NoGradGuard no_grad;
    const auto y = attention->forward(x);
    // Queries x30 and keys x20 (weights and biases): logits 600 times larger without QK-norm.
    params["qkv.weight"].slice(0, 0, kDim).mul_(30);
    params["qkv.bias"].slice(0, 0, kDim).mul_(30);
    params["qkv.weight"].slice(0, kDim, 2 * kDim).mul_(20);
    const auto scaled = attention->forward(x);
    EXPECT_EQ(torch::allclose(scaled, y, /*rtol=*/1e-4, /*atol=*/1e-4), qk_norm)
        << "qk_norm=" << qk_norm << " max diff " << (scaled - y).abs().max().item<double>();
    if (qk_norm) {
      // The gains set the logits' scale (per channel, so per head).
      params["q_norm"].slice(0, 0, kDim / kHeads).mul_(4);
      EXPECT_FALSE(torch::allclose(attention->forward(x), y, 1e-4, 1e-4));
    }
  }
}

}  // namespace
}  // namespace vidserve

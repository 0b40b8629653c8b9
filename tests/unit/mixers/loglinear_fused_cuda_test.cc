// The fused CUDA log-linear forward against the LibTorch chunkwise path and the O(T^2)
// reference. Skips without a CUDA device; compiles on CPU-only builds (the fused API exists
// only with VIDSERVE_HAVE_CUDA).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/mixers/loglinear_attention.h"
#include "tests/unit/cuda_test_skip.h"
#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/loglinear_fused.h"
#endif

namespace vidserve {
namespace {

#ifdef VIDSERVE_HAVE_CUDA
double RelativeError(const torch::Tensor& actual, const torch::Tensor& expected) {
  auto a = actual.to(torch::kDouble), e = expected.to(torch::kDouble);
  return (a - e).norm().item<double>() / e.norm().item<double>();
}

struct Inputs {
  torch::Tensor q, k, v, lambda;
};

Inputs RandomInputs(int64_t t, int64_t seed, torch::ScalarType dtype, int64_t dk = 64,
                    int64_t dv = 64, int64_t extra_levels = 0, int64_t batch = 2,
                    int64_t heads = 2) {
  torch::manual_seed(seed);
  const auto options = torch::TensorOptions().device(torch::kCUDA);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dk));
  Inputs in;
  in.q = (torch::randn({batch, heads, t, dk}, options) * scale).to(dtype);
  in.k = (torch::randn({batch, heads, t, dk}, options) * scale).to(dtype);
  in.v = torch::randn({batch, heads, t, dv}, options).to(dtype);
  in.lambda = torch::nn::functional::softplus(
                  torch::randn({batch, heads, t, FenwickNumLevels(t) + extra_levels}, options))
                  .to(dtype);
  return in;
}

torch::Tensor ReferenceFp32(const Inputs& in) {
  return LogLinearAttentionReference(in.q.to(torch::kFloat), in.k.to(torch::kFloat),
                                     in.v.to(torch::kFloat), in.lambda.to(torch::kFloat));
}

#endif

TEST(LogLinearFusedCuda, Fp32MatchesTorchChunkwiseAndReference) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  for (int64_t t : {1, 7, 64, 100, 257, 1024, 4096}) {
    for (int64_t chunk : {16, 64}) {
      auto in = RandomInputs(t, 100 + t + chunk, torch::kFloat, 64, 64, chunk == 16 ? 2 : 0);
      auto fused = LogLinearAttentionFusedCuda(in.q, in.k, in.v, in.lambda, chunk);
      auto torch_path = LogLinearAttentionChunkwiseTorch(in.q, in.k, in.v, in.lambda, chunk);
      auto reference = ReferenceFp32(in);
      ASSERT_EQ(fused.sizes(), reference.sizes());
      const double vs_ref = RelativeError(fused, reference);
      const double vs_torch = RelativeError(fused, torch_path);
      EXPECT_LE(vs_ref, 1e-4) << "T=" << t << " chunk=" << chunk;
      EXPECT_LE(vs_torch, 1e-4) << "T=" << t << " chunk=" << chunk;
      std::printf("fp32 T=%5ld chunk=%2ld  rel err vs reference %.2e, vs LibTorch %.2e\n", t, chunk,
                  vs_ref, vs_torch);
    }
  }
#endif
}

TEST(LogLinearFusedCuda, SmallHeadDimsAndNonContiguousInputs) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  for (int64_t t : {7, 100, 257, 1000}) {
    auto in = RandomInputs(t, 7 + t, torch::kFloat, 16, 8, 3, 1, 3);
    auto reference = ReferenceFp32(in);
    auto fused = LogLinearAttentionFusedCuda(in.q, in.k, in.v, in.lambda, 64);
    EXPECT_LE(RelativeError(fused, reference), 1e-4) << "T=" << t;
    // [B, T, H, D] storage viewed as [B, H, T, D].
    auto nc = [](const torch::Tensor& x) { return x.transpose(1, 2).contiguous().transpose(1, 2); };
    auto fused_nc = LogLinearAttentionFusedCuda(nc(in.q), nc(in.k), nc(in.v), nc(in.lambda), 16);
    EXPECT_LE(RelativeError(fused_nc, reference), 1e-4) << "T=" << t;
  }
#endif
}

TEST(LogLinearFusedCuda, HalfPrecisionWithinLowPrecisionTolerance) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  for (auto dtype : {torch::kBFloat16, torch::kHalf}) {
    for (int64_t t : {7, 100, 1024, 4096}) {
      auto in = RandomInputs(t, 300 + t, dtype);
      auto reference = ReferenceFp32(in);  // exact math on the rounded inputs
      auto fused = LogLinearAttentionFusedCuda(in.q, in.k, in.v, in.lambda, 64);
      auto torch_path = LogLinearAttentionChunkwiseTorch(in.q, in.k, in.v, in.lambda, 64);
      ASSERT_EQ(fused.scalar_type(), dtype);
      const double fused_err = RelativeError(fused, reference);
      const double torch_err = RelativeError(torch_path, reference);
      // One rounding of the output to 8 (bf16) or 11 (fp16) bits: ~2^-9 relative.
      EXPECT_LE(fused_err, dtype == torch::kBFloat16 ? 8e-3 : 1e-3) << "T=" << t;
      EXPECT_LE(fused_err, torch_err * 1.5 + 1e-4) << "T=" << t;
      std::printf("%s T=%5ld  rel err vs fp32 reference: fused %.2e, LibTorch %.2e\n",
                  dtype == torch::kBFloat16 ? "bf16" : "fp16", t, fused_err, torch_err);
    }
  }
#endif
}

TEST(LogLinearFusedCuda, CausalPerturbingTokenChangesNothingBefore) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  const int64_t t = 300;
  for (int64_t p : {0, 63, 64, 129, 299}) {
    auto in = RandomInputs(t, 5, torch::kFloat);
    auto base = LogLinearAttentionFusedCuda(in.q, in.k, in.v, in.lambda, 64);
    in.k.select(2, p).add_(1.0);
    in.v.select(2, p).add_(1.0);
    auto moved = LogLinearAttentionFusedCuda(in.q, in.k, in.v, in.lambda, 64);
    if (p > 0) {
      EXPECT_TRUE(torch::equal(base.narrow(2, 0, p), moved.narrow(2, 0, p))) << "p=" << p;
    }
    EXPECT_FALSE(torch::equal(base.narrow(2, p, t - p), moved.narrow(2, p, t - p))) << "p=" << p;
  }
#endif
}

TEST(LogLinearFusedCuda, DispatchUsesFusedOnlyWithoutGradient) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  auto in = RandomInputs(515, 11, torch::kFloat);
  torch::Tensor dispatched;
  {
    torch::NoGradGuard no_grad;
    dispatched = LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, 64);
    auto fused = LogLinearAttentionFusedCuda(in.q, in.k, in.v, in.lambda, 64);
    auto torch_path = LogLinearAttentionChunkwiseTorch(in.q, in.k, in.v, in.lambda, 64);
    if (LogLinearFusedEnabled()) {
      EXPECT_TRUE(torch::equal(dispatched, fused));
    } else {
      EXPECT_TRUE(torch::equal(dispatched, torch_path));
    }
  }
  // With gradients the LibTorch path runs, so backward works.
  auto q = in.q.clone().requires_grad_(true);
  auto out = LogLinearAttentionChunkwise(q, in.k, in.v, in.lambda, 64);
  ASSERT_TRUE(out.requires_grad());
  out.sum().backward();
  EXPECT_TRUE(torch::isfinite(q.grad()).all().item<bool>());
  EXPECT_LE(RelativeError(out.detach(), dispatched), 1e-4);
#endif
}

}  // namespace
}  // namespace vidserve

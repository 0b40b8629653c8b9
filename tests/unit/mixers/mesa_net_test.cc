#include "model/mixers/mesa_net.h"

#include <vector>

#include <gtest/gtest.h>

namespace vidserve {
namespace {

constexpr int64_t kCgSteps = 16;

double RelativeError(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual - expected).norm().item<double>() / expected.norm().item<double>();
}

struct Inputs {
  torch::Tensor q, k, v, log_forget, input_gate, lambda;
};

// q, k L2-normalised as in the mixer; forget gates near 0.9 so memory spans ~10 tokens.
Inputs RandomInputs(int64_t t, int64_t seed, int64_t batch = 2, int64_t heads = 2, int64_t dk = 16,
                    int64_t dv = 8) {
  torch::manual_seed(seed);
  namespace F = torch::nn::functional;
  Inputs in;
  in.q = F::normalize(torch::randn({batch, heads, t, dk}), F::NormalizeFuncOptions().dim(-1));
  in.k = F::normalize(torch::randn({batch, heads, t, dk}), F::NormalizeFuncOptions().dim(-1));
  in.v = torch::randn({batch, heads, t, dv});
  in.log_forget = torch::log_sigmoid(torch::randn({batch, heads, t}) + 2.5);
  in.input_gate = torch::sigmoid(torch::randn({batch, heads, t}));
  in.lambda = 0.25 + torch::rand({heads, dk});
  return in;
}

torch::Tensor Reference(const Inputs& in, int64_t cg_steps) {
  return MesaNetReference(in.q, in.k, in.v, in.log_forget, in.input_gate, in.lambda, cg_steps);
}

torch::Tensor Chunkwise(const Inputs& in, int64_t chunk, int64_t cg_steps = kCgSteps) {
  return MesaNetChunkwise(in.q, in.k, in.v, in.log_forget, in.input_gate, in.lambda, chunk,
                          cg_steps);
}

TEST(ConjugateGradient, MatchesExactSolveOnWellConditionedSystemsInDimensionSteps) {
  torch::manual_seed(0);
  auto m = torch::randn({4, 16, 16});
  auto a = torch::matmul(m, m.transpose(-2, -1)) / 16 + torch::eye(16);
  auto rhs = torch::randn({4, 16});
  auto apply = [&a](const torch::Tensor& p) {
    return torch::matmul(a, p.unsqueeze(-1)).squeeze(-1);
  };
  auto x = ConjugateGradientSolve(apply, rhs, a.diagonal(0, -2, -1), 16);
  auto exact = torch::linalg_solve(a, rhs.unsqueeze(-1)).squeeze(-1);
  EXPECT_LE(RelativeError(x, exact), 1e-5);
}

TEST(MesaNet, ConjugateGradientIsWithinTolerance5e3OfExactSolve) {
  for (int64_t t : {7, 100}) {
    auto in = RandomInputs(t, /*seed=*/t);
    auto exact = Reference(in, /*cg_steps=*/0);
    EXPECT_LE(RelativeError(Reference(in, kCgSteps), exact), 5e-3) << "T=" << t;
    EXPECT_LE(RelativeError(Chunkwise(in, 16), exact), 5e-3) << "T=" << t;
  }
}

TEST(MesaNet, ChunkwiseMatchesReferenceForOddAndNonPowerOfTwoLengths) {
  for (int64_t t : {1, 7, 63, 100, 257}) {
    auto in = RandomInputs(t, /*seed=*/300 + t);
    auto expected = Reference(in, kCgSteps);
    for (int64_t chunk : {1, 16, 48, 64}) {
      auto actual = Chunkwise(in, chunk);
      ASSERT_EQ(actual.sizes(), expected.sizes());
      EXPECT_LE(RelativeError(actual, expected), 1e-4) << "T=" << t << " chunk=" << chunk;
    }
  }
}

TEST(MesaNet, RecurrentStepsMatchChunkwise) {
  for (int64_t t : {1, 7, 100}) {
    auto in = RandomInputs(t, /*seed=*/400 + t);
    auto actual =
        MesaNetRecurrent(in.q, in.k, in.v, in.log_forget, in.input_gate, in.lambda, kCgSteps);
    EXPECT_LE(RelativeError(actual, Chunkwise(in, 16)), 1e-4) << "T=" << t;
  }
}

TEST(MesaNet, PerturbingTokenChangesNoEarlierOutput) {
  const int64_t t = 100, perturbed = 37;
  auto in = RandomInputs(t, /*seed=*/13);
  auto base = Chunkwise(in, 16);
  for (auto* tensor : {&in.q, &in.k, &in.v, &in.log_forget, &in.input_gate}) {
    tensor->select(2, perturbed).add_(0.5);
  }
  auto changed = Chunkwise(in, 16);
  EXPECT_TRUE(torch::equal(base.narrow(2, 0, perturbed), changed.narrow(2, 0, perturbed)));
  for (int64_t i = perturbed; i < t; ++i) {
    EXPECT_FALSE(torch::allclose(base.select(2, i), changed.select(2, i))) << "token " << i;
  }
}

TEST(MesaNet, GradientsAreFiniteAndMatchTheReference) {
  for (int64_t t : {7, 63}) {
    auto in = RandomInputs(t, /*seed=*/500 + t);
    std::vector<torch::Tensor> leaves = {in.q, in.k, in.v, in.log_forget, in.input_gate, in.lambda};
    auto weights = torch::randn({2, 2, t, 8});
    auto gradients = [&](bool chunkwise) {
      std::vector<torch::Tensor> x;
      for (auto& leaf : leaves) x.push_back(leaf.detach().clone().requires_grad_(true));
      auto o = chunkwise ? MesaNetChunkwise(x[0], x[1], x[2], x[3], x[4], x[5], 16, kCgSteps)
                         : MesaNetReference(x[0], x[1], x[2], x[3], x[4], x[5], kCgSteps);
      (o * weights).sum().backward();
      std::vector<torch::Tensor> grads;
      for (auto& input : x) grads.push_back(input.grad());
      return grads;
    };
    auto expected = gradients(false);
    auto actual = gradients(true);
    for (size_t i = 0; i < leaves.size(); ++i) {
      ASSERT_TRUE(actual[i].defined()) << "input " << i;
      EXPECT_TRUE(torch::isfinite(actual[i]).all().item<bool>()) << "input " << i;
      EXPECT_LE(RelativeError(actual[i], expected[i]), 1e-3) << "T=" << t << " input " << i;
    }
  }
}

TEST(MesaNet, Bfloat16InputsGiveBfloat16OutputsCloseToFloat32) {
  auto in = RandomInputs(50, /*seed=*/17);
  auto expected = Chunkwise(in, 16);
  Inputs half = in;
  half.q = in.q.to(torch::kBFloat16);
  half.k = in.k.to(torch::kBFloat16);
  half.v = in.v.to(torch::kBFloat16);
  auto actual = Chunkwise(half, 16);
  EXPECT_EQ(actual.scalar_type(), torch::kBFloat16);
  EXPECT_LE(RelativeError(actual.to(torch::kFloat), expected), 3e-2);
}

TEST(MesaNet, FactoryRejectsNonPositiveStepsAndChunks) {
  TokenMixerOptions options;
  options.kind = "mesa";
  options.mesa_cg_steps = 0;
  EXPECT_FALSE(MakeTokenMixer(options).ok());
  options.mesa_cg_steps = 4;
  options.mesa_chunk_size = 0;
  EXPECT_FALSE(MakeTokenMixer(options).ok());
}

}  // namespace
}  // namespace vidserve

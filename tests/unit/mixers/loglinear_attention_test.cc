#include "model/mixers/loglinear_attention.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace vidserve {
namespace {

double RelativeError(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual - expected).norm().item<double>() / expected.norm().item<double>();
}

int64_t BruteForceBitLength(int64_t x) {
  int64_t bits = 0;
  while (x != 0) {
    x >>= 1;
    ++bits;
  }
  return bits;
}

struct Inputs {
  torch::Tensor q, k, v, lambda;
};

Inputs RandomInputs(int64_t t, int64_t seed, int64_t batch = 2, int64_t heads = 2, int64_t dk = 16,
                    int64_t dv = 8) {
  torch::manual_seed(seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dk));
  Inputs in;
  in.q = torch::randn({batch, heads, t, dk}) * scale;
  in.k = torch::randn({batch, heads, t, dk}) * scale;
  in.v = torch::randn({batch, heads, t, dv});
  in.lambda = torch::nn::functional::softplus(torch::randn({batch, heads, t, FenwickNumLevels(t)}));
  return in;
}

TEST(FenwickLevel, MatchesBruteForceBitComputationForAllPairsUpTo64) {
  for (int64_t t = 1; t <= 64; ++t) {
    auto levels = FenwickLevelMatrix(t, torch::kCPU);
    auto accessor = levels.accessor<int64_t, 2>();
    int64_t max_level = 0;
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t j = 0; j < t; ++j) {
        const int64_t expected = BruteForceBitLength(i ^ j);
        ASSERT_EQ(accessor[i][j], expected) << "T=" << t << " t=" << i << " s=" << j;
        ASSERT_EQ(FenwickLevel(i, j), expected) << "t=" << i << " s=" << j;
        if (j <= i) max_level = std::max(max_level, expected);
      }
    }
    const int64_t ceil_log2 = static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(t))));
    EXPECT_EQ(FenwickNumLevels(t), ceil_log2 + 1) << "T=" << t;
    EXPECT_EQ(FenwickNumLevels(t), max_level + 1) << "T=" << t;
  }
}

// With q = k = 1, v = identity and lambda_t[l] = l + 1, o_t[s] - 1 is the level the algorithm
// gave to the pair (t, s): this checks the chunkwise Fenwick bookkeeping pair by pair.
TEST(LogLinearAttention, ChunkwiseGivesEveryPairItsFenwickLevel) {
  for (int64_t t : {1, 7, 37, 64, 100}) {
    for (int64_t chunk : {1, 2, 4, 16}) {
      const int64_t levels = FenwickNumLevels(t);
      auto ones = torch::ones({1, 1, t, 1});
      auto v = torch::eye(t).view({1, 1, t, t});
      auto lambda = (torch::arange(levels, torch::kFloat) + 1).expand({1, 1, t, levels});
      auto o = LogLinearAttentionChunkwise(ones, ones, v, lambda, chunk).squeeze(0).squeeze(0);
      auto accessor = o.accessor<float, 2>();
      for (int64_t i = 0; i < t; ++i) {
        for (int64_t j = 0; j < t; ++j) {
          const float expected = j <= i ? static_cast<float>(BruteForceBitLength(i ^ j) + 1) : 0;
          ASSERT_EQ(accessor[i][j], expected)
              << "T=" << t << " chunk=" << chunk << " t=" << i << " s=" << j;
        }
      }
    }
  }
}

TEST(LogLinearAttention, ChunkwiseMatchesReferenceForOddAndNonPowerOfTwoLengths) {
  for (int64_t t : {1, 2, 7, 63, 64, 100, 257}) {
    auto in = RandomInputs(t, /*seed=*/t);
    auto expected = LogLinearAttentionReference(in.q, in.k, in.v, in.lambda);
    for (int64_t chunk : {1, 4, 16, 64}) {
      auto actual = LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, chunk);
      ASSERT_EQ(actual.sizes(), expected.sizes());
      EXPECT_LE(RelativeError(actual, expected), 1e-4) << "T=" << t << " chunk=" << chunk;
    }
  }
}

TEST(LogLinearAttention, ChunkwiseAcceptsExtraLevelWeightsAndNonContiguousInputs) {
  auto in = RandomInputs(45, /*seed=*/3);
  auto extra = torch::rand({2, 2, 45, 24});
  extra.narrow(-1, 0, in.lambda.size(-1)).copy_(in.lambda);
  auto q = in.q.transpose(1, 2).contiguous().transpose(1, 2);  // same values, other strides
  auto expected = LogLinearAttentionReference(in.q, in.k, in.v, in.lambda);
  EXPECT_LE(RelativeError(LogLinearAttentionChunkwise(q, in.k, in.v, extra, 8), expected), 1e-4);
}

TEST(LogLinearAttention, RecurrentStepsMatchChunkwise) {
  for (int64_t t : {1, 7, 100}) {
    auto in = RandomInputs(t, /*seed=*/100 + t);
    auto expected = LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, 16);
    auto actual = LogLinearAttentionRecurrent(in.q, in.k, in.v, in.lambda);
    EXPECT_LE(RelativeError(actual, expected), 1e-5) << "T=" << t;
  }
}

TEST(LogLinearAttention, RecurrentStateKeepsOneBucketPerSetBitOfThePosition) {
  auto in = RandomInputs(77, /*seed=*/5);
  LogLinearState state;
  for (int64_t i = 0; i < 77; ++i) {
    LogLinearAttentionStep(in.q.select(2, i), in.k.select(2, i), in.v.select(2, i),
                           in.lambda.select(2, i), &state);
    const int64_t position = i + 1;
    for (size_t level = 1; level <= state.buckets.size(); ++level) {
      EXPECT_EQ(state.buckets[level - 1].defined(), ((position >> (level - 1)) & 1) == 1)
          << "position " << position << " level " << level;
    }
    EXPECT_LE(static_cast<int64_t>(state.buckets.size()), BruteForceBitLength(position));
  }
}

TEST(LogLinearAttention, PerturbingTokenChangesNoEarlierOutput) {
  const int64_t t = 100, perturbed = 37;
  auto in = RandomInputs(t, /*seed=*/11);
  auto base = LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, 16);
  for (auto* tensor : {&in.q, &in.k, &in.v, &in.lambda}) tensor->select(2, perturbed).add_(1.0);
  auto changed = LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, 16);
  EXPECT_TRUE(torch::equal(base.narrow(2, 0, perturbed), changed.narrow(2, 0, perturbed)));
  for (int64_t i = perturbed; i < t; ++i) {
    EXPECT_FALSE(torch::allclose(base.select(2, i), changed.select(2, i))) << "token " << i;
  }
}

TEST(LogLinearAttention, GradientsAreFiniteAndMatchTheReference) {
  for (int64_t t : {7, 63, 100}) {
    auto in = RandomInputs(t, /*seed=*/200 + t);
    std::vector<torch::Tensor> leaves = {in.q, in.k, in.v, in.lambda};
    auto weights = torch::randn({2, 2, t, 8});
    auto gradients = [&](bool chunkwise) {
      std::vector<torch::Tensor> inputs;
      for (auto& leaf : leaves) inputs.push_back(leaf.detach().clone().requires_grad_(true));
      auto o = chunkwise
                   ? LogLinearAttentionChunkwise(inputs[0], inputs[1], inputs[2], inputs[3], 8)
                   : LogLinearAttentionReference(inputs[0], inputs[1], inputs[2], inputs[3]);
      (o * weights).sum().backward();
      std::vector<torch::Tensor> grads;
      for (auto& input : inputs) grads.push_back(input.grad());
      return grads;
    };
    auto expected = gradients(false);
    auto actual = gradients(true);
    for (size_t i = 0; i < leaves.size(); ++i) {
      ASSERT_TRUE(actual[i].defined());
      EXPECT_TRUE(torch::isfinite(actual[i]).all().item<bool>()) << "input " << i;
      EXPECT_LE(RelativeError(actual[i], expected[i]), 1e-4) << "T=" << t << " input " << i;
    }
  }
}

TEST(LogLinearAttention, GradientsWorkAfterFirstUseUnderInferenceMode) {
  auto in = RandomInputs(200, /*seed=*/9);
  {
    c10::InferenceMode inference;
    LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, 128);
  }
  auto q = in.q.clone().requires_grad_(true);
  LogLinearAttentionChunkwise(q, in.k, in.v, in.lambda, 128).sum().backward();
  ASSERT_TRUE(q.grad().defined());
  EXPECT_TRUE(torch::isfinite(q.grad()).all().item<bool>());
}

TEST(LogLinearAttention, RejectsNonPowerOfTwoChunksAndTooFewLevels) {
  auto in = RandomInputs(20, /*seed=*/1);
  EXPECT_THROW(LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, 6), c10::Error);
  EXPECT_THROW(LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda.narrow(-1, 0, 3), 4),
               c10::Error);
  TokenMixerOptions options;
  options.kind = "loglinear";
  options.loglinear_chunk_size = 48;
  EXPECT_FALSE(MakeTokenMixer(options).ok());
}

}  // namespace
}  // namespace vidserve

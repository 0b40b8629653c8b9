// Denoiser, text encoder and flow sampler at the tensor level.
#include "model/denoiser.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

#include "model/flow_sampler.h"
#include "model/text_encoder.h"

namespace vidserve {
namespace {

const bool kTwoThreads = [] {
  at::set_num_threads(2);
  return true;
}();

DenoiserOptions SmallDenoiserOptions(bool adaln_zero_init) {
  DenoiserOptions o;
  o.latent_channels = 4;
  o.hidden_dim = 32;
  o.num_layers = 2;
  o.num_heads = 2;
  o.mixers = {"softmax", "softmax"};
  o.text_dim = 16;
  o.adaln_zero_init = adaln_zero_init;
  return o;
}

TextEncoder SmallTextEncoder() {
  torch::manual_seed(3);
  TextEncoder encoder(TextEncoderOptions().dim(16).num_layers(1).num_heads(2).max_prompt_bytes(32));
  encoder->eval();
  return encoder;
}

TEST(TextEncoder, TokenizesBytesAfterBosAndCutsOnCharacterBoundary) {
  EXPECT_EQ(TokenizePrompt("", 8), (std::vector<int64_t>{kTextBosToken}));
  EXPECT_EQ(TokenizePrompt("ab", 8), (std::vector<int64_t>{kTextBosToken, 'a', 'b'}));
  // "é" is 2 bytes (0xC3 0xA9); a 2-byte budget after "a" must not split it.
  EXPECT_EQ(TokenizePrompt("a\xC3\xA9", 2), (std::vector<int64_t>{kTextBosToken, 'a'}));
  EXPECT_EQ(TokenizePrompt("abcdef", 3).size(), 4u);
}

TEST(TextEncoder, PaddedBatchEqualsPromptsEncodedAlone) {
  auto encoder = SmallTextEncoder();
  torch::NoGradGuard no_grad;
  auto batch = encoder->Encode({"hi", "a longer prompt"}, torch::kCPU);
  auto alone = encoder->Encode({"hi"}, torch::kCPU);
  EXPECT_EQ(batch.tokens.sizes(), (std::vector<int64_t>{2, 16, 16}));
  EXPECT_EQ(alone.tokens.size(1), 3);
  EXPECT_TRUE(torch::allclose(batch.pooled[0], alone.pooled[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(batch.tokens[0].narrow(0, 0, 3), alone.tokens[0], 1e-5, 1e-5));
  EXPECT_EQ(batch.mask[0].sum().item<int64_t>(), 3);
  EXPECT_FALSE(torch::allclose(batch.pooled[0], batch.pooled[1]));
}

TEST(TextEncoder, EmptyPromptIsTheUnconditionalEmbedding) {
  auto encoder = SmallTextEncoder();
  torch::NoGradGuard no_grad;
  auto uncond = encoder->Encode({""}, torch::kCPU);
  EXPECT_EQ(uncond.tokens.size(1), 1);
  EXPECT_TRUE(uncond.mask.all().item<bool>());
}

TEST(Denoiser, PredictsVelocityOfTheLatentShapeDeterministically) {
  torch::manual_seed(0);
  auto denoiser = *BuildDenoiser(SmallDenoiserOptions(false));
  auto text = SmallTextEncoder()->Encode({"a", "bc"}, torch::kCPU);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 4, 3, 4, 6});
  auto t = torch::tensor({0.3f, 0.9f});
  auto v1 = denoiser->forward(x, t, text);
  auto v2 = denoiser->forward(x, t, text);
  EXPECT_EQ(v1.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(v1, v2));
  // Each sample's timestep matters.
  auto v3 = denoiser->forward(x, torch::tensor({0.3f, 0.1f}), text);
  EXPECT_TRUE(torch::allclose(v1[0], v3[0], 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(v1[1], v3[1], 1e-5, 1e-5));
}

TEST(Denoiser, AdaLnZeroInitStartsAtZeroVelocity) {
  torch::manual_seed(0);
  auto denoiser = *BuildDenoiser(SmallDenoiserOptions(true));
  auto text = SmallTextEncoder()->Encode({"a"}, torch::kCPU);
  torch::NoGradGuard no_grad;
  auto v = denoiser->forward(torch::randn({1, 4, 1, 2, 2}), torch::tensor({0.5f}), text);
  EXPECT_EQ(v.abs().max().item<float>(), 0.0f);
}

TEST(Denoiser, RejectsUnknownMixerWithTheLayer) {
  auto options = SmallDenoiserOptions(true);
  options.mixers[1] = "rnn";
  auto denoiser = BuildDenoiser(options);
  ASSERT_FALSE(denoiser.ok());
  EXPECT_NE(std::string(denoiser.status().message()).find("layer 1"), std::string::npos);
}

TEST(Denoiser, PositionEmbeddingDistinguishesTokens) {
  auto pos = SinCosPositionEmbedding3d(2, 3, 4, 32, torch::kFloat);
  EXPECT_EQ(pos.sizes(), (std::vector<int64_t>{24, 32}));
  auto distances = torch::cdist(pos, pos);
  distances.fill_diagonal_(1.0);
  EXPECT_GT(distances.min().item<float>(), 1e-3);
}

TEST(FlowSampler, TimestepsRunFromOneToZero) {
  FlowSampler uniform;
  auto ts = uniform.Timesteps(4);
  ASSERT_EQ(ts.size(), 5u);
  EXPECT_DOUBLE_EQ(ts[0], 1.0);
  EXPECT_DOUBLE_EQ(ts[2], 0.5);
  EXPECT_DOUBLE_EQ(ts[4], 0.0);
  FlowSampler shifted(FlowSamplerOptions{3.0});
  auto st = shifted.Timesteps(4);
  EXPECT_DOUBLE_EQ(st[0], 1.0);
  EXPECT_GT(st[2], 0.5);  // more of the steps at high noise
  EXPECT_DOUBLE_EQ(st[4], 0.0);
}

TEST(FlowSampler, ExactVelocityReachesTheDataInOneEulerStep) {
  auto x0 = torch::randn({2, 3, 4});
  auto eps = torch::randn({2, 3, 4});
  auto t = torch::tensor({1.0f, 0.25f});
  auto xt = FlowSampler::Interpolate(x0, eps, t);
  EXPECT_TRUE(torch::allclose(xt[0], eps[0]));
  EXPECT_TRUE(torch::allclose(xt[1], 0.75 * x0[1] + 0.25 * eps[1]));
  auto x = FlowSampler::EulerStep(xt, FlowSampler::VelocityTarget(x0, eps), t, torch::zeros({2}));
  EXPECT_TRUE(torch::allclose(x, x0, 1e-5, 1e-5));
}

TEST(FlowSampler, GuidanceOneSkipsTheUnconditionalPass) {
  auto text = SmallTextEncoder()->Encode({"a", "b", "c"}, torch::kCPU);
  std::vector<int64_t> rows_seen;
  FlowSampler::VelocityFn fn = [&](const torch::Tensor& x, const torch::Tensor&,
                                   const TextEmbedding& txt) {
    rows_seen.push_back(x.size(0));
    // "velocity" = the pooled text's first feature, so cond and uncond differ.
    return txt.pooled.narrow(1, 0, 1).view({-1, 1, 1}).expand_as(x).clone();
  };
  torch::NoGradGuard no_grad;
  auto x = torch::zeros({3, 2, 2});
  auto t = torch::ones({3});
  auto uncond = SmallTextEncoder()->Encode({"", "", ""}, torch::kCPU);
  FlowSampler::GuidedVelocity(fn, x, t, text, uncond, {1.0, 1.0, 1.0});
  ASSERT_EQ(rows_seen, (std::vector<int64_t>{3}));
  auto v = FlowSampler::GuidedVelocity(fn, x, t, text, uncond, {1.0, 3.0, 1.0});
  ASSERT_EQ(rows_seen, (std::vector<int64_t>{3, 4}));  // one call, one extra row
  const float c1 = text.pooled[1][0].item<float>(), u = uncond.pooled[0][0].item<float>();
  EXPECT_NEAR(v[1][0][0].item<float>(), u + 3.0f * (c1 - u), 1e-5);
  EXPECT_NEAR(v[0][0][0].item<float>(), text.pooled[0][0].item<float>(), 1e-6);
}

// A small random denoiser as the sampler sees it, a prompt, the empty prompt and noise.
struct SamplerInputs {
  FlowSampler::VelocityFn velocity;
  TextEmbedding cond, uncond;
  torch::Tensor noise;
};

SamplerInputs SmallSamplerInputs() {
  torch::manual_seed(0);
  Denoiser denoiser = *BuildDenoiser(SmallDenoiserOptions(false));
  auto text_encoder = SmallTextEncoder();
  torch::NoGradGuard no_grad;
  SamplerInputs in;
  in.cond = text_encoder->Encode({"x"}, torch::kCPU);
  in.uncond = text_encoder->Encode({""}, torch::kCPU);
  in.velocity = [denoiser](const torch::Tensor& x, const torch::Tensor& t,
                           const TextEmbedding& txt) mutable {
    torch::NoGradGuard no_grad_inside;
    return denoiser->forward(x, t, txt);
  };
  in.noise = torch::randn({1, 4, 1, 2, 2});
  return in;
}

TEST(FlowSampler, SampleIsDeterministic) {
  const SamplerInputs in = SmallSamplerInputs();
  FlowSampler sampler;
  auto a = sampler.Sample(in.velocity, in.noise, in.cond, in.uncond, 3, {2.0});
  auto b = sampler.Sample(in.velocity, in.noise, in.cond, in.uncond, 3, {2.0});
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, in.noise));
}

TEST(FlowSampler, GuidanceAppliesOnlyInsideTheInterval) {
  FlowSampler sampler(FlowSamplerOptions{1.0, /*guidance_min_t=*/0.3, /*guidance_max_t=*/0.8});
  EXPECT_DOUBLE_EQ(sampler.GuidanceAt(1.0, 4.0), 1.0);
  EXPECT_DOUBLE_EQ(sampler.GuidanceAt(0.81, 4.0), 1.0);
  EXPECT_DOUBLE_EQ(sampler.GuidanceAt(0.8, 4.0), 4.0);
  EXPECT_DOUBLE_EQ(sampler.GuidanceAt(0.3, 4.0), 4.0);
  EXPECT_DOUBLE_EQ(sampler.GuidanceAt(0.29, 4.0), 1.0);
  // A schedule's rounding stays inside: 20 uniform steps start one at 1 - 16/20.
  FlowSampler from_02(FlowSamplerOptions{1.0, 0.2, 1.0});
  EXPECT_DOUBLE_EQ(from_02.GuidanceAt(from_02.Timesteps(20)[16], 4.0), 4.0);
  EXPECT_DOUBLE_EQ(from_02.GuidanceAt(from_02.Timesteps(20)[17], 4.0), 1.0);
  FlowSampler every_step;
  EXPECT_DOUBLE_EQ(every_step.GuidanceAt(0.0, 2.5), 2.5);
  EXPECT_DOUBLE_EQ(every_step.GuidanceAt(1.0, 2.5), 2.5);
}

TEST(FlowSampler, SampleRunsTheUnconditionalPassOnlyForStepsInTheInterval) {
  auto text = SmallTextEncoder()->Encode({"a"}, torch::kCPU);
  auto uncond = SmallTextEncoder()->Encode({""}, torch::kCPU);
  std::vector<int64_t> rows_seen;
  FlowSampler::VelocityFn fn = [&](const torch::Tensor& x, const torch::Tensor&,
                                   const TextEmbedding&) {
    rows_seen.push_back(x.size(0));
    return torch::zeros_like(x);
  };
  // Four steps start at t = 1, 0.75, 0.5, 0.25: the last one is outside [0.5, 1].
  FlowSampler sampler(FlowSamplerOptions{1.0, 0.5, 1.0});
  sampler.Sample(fn, torch::zeros({1, 2}), text, uncond, 4, {3.0});
  EXPECT_EQ(rows_seen, (std::vector<int64_t>{2, 2, 2, 1}));
}

TEST(FlowSampler, StochasticStepLandsOnTheFlowPathWithFreshNoise) {
  auto x0 = torch::randn({2, 3, 4});
  auto eps = torch::randn({2, 3, 4});
  auto z = torch::randn({2, 3, 4});
  auto t_cur = torch::tensor({0.5f, 0.5f});
  auto t_next = torch::tensor({0.25f, 0.0f});
  auto x = FlowSampler::Interpolate(x0, eps, t_cur);
  auto v = FlowSampler::VelocityTarget(x0, eps);
  // Stochasticity 0 is exactly the Euler step, whatever the noise.
  FlowSampler ode;
  EXPECT_FALSE(ode.stochastic());
  EXPECT_TRUE(torch::equal(ode.Step(x, v, t_cur, t_next, z),
                           FlowSampler::EulerStep(x, v, t_cur, t_next)));
  // Stochasticity 1 from t = 0.5 to 0.25: a share sqrt(1 - 0.25 / 0.5) of fresh noise
  // replaces part of the predicted noise; the step to t = 0 lands on the clean latent.
  FlowSampler sde(FlowSamplerOptions{1.0, 0.0, 1.0, /*stochasticity=*/1.0});
  ASSERT_TRUE(sde.stochastic());
  auto next = sde.Step(x, v, t_cur, t_next, z);
  const double share = std::sqrt(0.5);
  auto expected = 0.75 * x0[0] + 0.25 * (std::sqrt(1 - share * share) * eps[0] + share * z[0]);
  EXPECT_TRUE(torch::allclose(next[0], expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(next[1], x0[1], 1e-5, 1e-5));
  // The share is capped at 1: all fresh noise, none of the predicted.
  FlowSampler strong(FlowSamplerOptions{1.0, 0.0, 1.0, 4.0});
  auto renoised = strong.Step(x, v, t_cur, t_next, z);
  EXPECT_TRUE(torch::allclose(renoised[0], 0.75 * x0[0] + 0.25 * z[0], 1e-5, 1e-5));
}

TEST(FlowSampler, StepPerSampleGivesEachRowItsOwnStochasticity) {
  auto x0 = torch::randn({3, 2, 4});
  auto eps = torch::randn({3, 2, 4});
  auto z = torch::randn({3, 2, 4});
  auto t_cur = torch::full({3}, 0.5f);
  auto t_next = torch::full({3}, 0.25f);
  auto x = FlowSampler::Interpolate(x0, eps, t_cur);
  auto v = FlowSampler::VelocityTarget(x0, eps);
  auto mixed = FlowSampler::StepPerSample(x, v, t_cur, t_next, {0.0, 1.0, 4.0}, z);
  // Row 0 is exactly the Euler step; rows 1 and 2 are what a sampler of their setting gives.
  auto euler = FlowSampler::EulerStep(x, v, t_cur, t_next);
  EXPECT_TRUE(torch::equal(mixed[0], euler[0]));
  auto one = FlowSampler(FlowSamplerOptions{1.0, 0.0, 1.0, 1.0}).Step(x, v, t_cur, t_next, z);
  auto four = FlowSampler(FlowSamplerOptions{1.0, 0.0, 1.0, 4.0}).Step(x, v, t_cur, t_next, z);
  EXPECT_TRUE(torch::allclose(mixed[1], one[1], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(mixed[2], four[2], 1e-6, 1e-6));
  // All rows deterministic: no noise needed.
  EXPECT_TRUE(torch::equal(
      FlowSampler::StepPerSample(x, v, t_cur, t_next, {0.0, 0.0, 0.0}, torch::Tensor()), euler));
  EXPECT_THROW(FlowSampler::StepPerSample(x, v, t_cur, t_next, {0.0, 1.0, 0.0}, torch::Tensor()),
               c10::Error);
}

TEST(FlowSampler, StochasticSampleFollowsItsNoiseGenerator) {
  const SamplerInputs in = SmallSamplerInputs();
  FlowSampler sampler(FlowSamplerOptions{1.0, 0.0, 1.0, 1.0});
  auto sample = [&](at::Generator* step_noise) {
    return sampler.Sample(in.velocity, in.noise, in.cond, in.uncond, 3, {2.0}, step_noise);
  };
  auto gen_a = at::detail::createCPUGenerator(5);
  auto gen_b = at::detail::createCPUGenerator(5);
  auto gen_c = at::detail::createCPUGenerator(6);
  auto a = sample(&gen_a);
  EXPECT_TRUE(torch::equal(a, sample(&gen_b)));
  EXPECT_FALSE(torch::allclose(a, sample(&gen_c)));
  EXPECT_FALSE(torch::allclose(
      a, FlowSampler().Sample(in.velocity, in.noise, in.cond, in.uncond, 3, {2.0})));
  EXPECT_THROW(sample(nullptr), c10::Error);
}

}  // namespace
}  // namespace vidserve

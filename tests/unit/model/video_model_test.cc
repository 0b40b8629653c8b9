// Facade tests: the contract the server relies on. Small shapes keep them fast on 2 cores.
#include "model/video_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace vidserve {
namespace {

using ::testing::HasSubstr;

// VIDSERVE_TEST_DEVICE=cuda runs the facade tests on a GPU (default cpu).
std::string TestDevice() {
  const char* device = std::getenv("VIDSERVE_TEST_DEVICE");
  return device != nullptr && *device != '\0' ? device : "cpu";
}

// The tiny preset's random weights from seed 7 on the test device: the shared model's
// options, and the base of the tests that compare a setting against another.
VideoModel::Options SeededTinyOptions() {
  VideoModel::Options options;
  options.config = *LoadPreset("tiny");
  options.device = TestDevice();
  options.init_seed = 7;
  return options;
}

std::unique_ptr<VideoModel>& SharedModel() {
  static auto* model = [] {
    VideoModel::Options options = SeededTinyOptions();
    options.num_threads = 2;
    auto created = VideoModel::Create(options);
    EXPECT_TRUE(created.ok()) << created.status();
    return new std::unique_ptr<VideoModel>(std::move(*created));
  }();
  return *model;
}

VideoClip MakeClip(int64_t frames, int64_t height, int64_t width, int seed = 0) {
  VideoClip clip;
  clip.frames = frames;
  clip.height = height;
  clip.width = width;
  clip.rgb.resize(clip.NumBytes());
  for (size_t i = 0; i < clip.rgb.size(); ++i)
    clip.rgb[i] = static_cast<uint8_t>((i * 31 + seed * 17) % 251);
  return clip;
}

GenerationParams SmallParams(const std::string& prompt, uint64_t seed, float guidance = 4.0f) {
  GenerationParams p;
  p.prompt = prompt;
  p.frames = 5;
  p.height = 32;
  p.width = 32;
  p.steps = 3;
  p.guidance = guidance;
  p.seed = seed;
  return p;
}

Latent Generate(VideoModel& model, const GenerationParams& params) {
  auto g = model.StartGeneration(params);
  EXPECT_TRUE(g.ok()) << g.status();
  while (!(*g)->finished()) {
    Generation* batch[] = {g->get()};
    EXPECT_TRUE(model.DenoiseStep(batch).ok());
  }
  return *model.FinalLatent(**g);
}

float MaxAbsDiff(const Latent& a, const Latent& b) {
  float m = 0;
  for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::fabs(a.data[i] - b.data[i]));
  return m;
}

TEST(VideoModel, RandomWeightsAreReportedAsUntrained) {
  const ModelInfo& info = SharedModel()->info();
  EXPECT_FALSE(info.trained);
  EXPECT_TRUE(info.checkpoint.empty());
  EXPECT_EQ(info.device.substr(0, 3), TestDevice().substr(0, 3));
  EXPECT_GT(info.vae_parameters, 0);
  EXPECT_GT(info.denoiser_parameters, 0);
  EXPECT_GT(info.thin_decoder_parameters, 0);
  EXPECT_LT(info.thin_decoder_parameters, info.vae_parameters / 2);
}

TEST(VideoModel, EncodeGivesOneLatentPerClipAtOneQuarterTimeOneEighthSpace) {
  VideoClip a = MakeClip(5, 32, 48, 1), b = MakeClip(5, 32, 48, 2);
  const VideoClip* clips[] = {&a, &b};
  auto latents = SharedModel()->Encode(clips);
  ASSERT_TRUE(latents.ok()) << latents.status();
  ASSERT_EQ(latents->size(), 2u);
  EXPECT_EQ((*latents)[0].shape, (std::array<int64_t, 4>{8, 2, 4, 6}));
  EXPECT_EQ((*latents)[0].data.size(), 8u * 2 * 4 * 6);
  EXPECT_NE((*latents)[0].data, (*latents)[1].data);
}

TEST(VideoModel, BatchedEncodeEqualsOneByOne) {
  VideoClip a = MakeClip(1, 16, 16, 1), b = MakeClip(1, 16, 16, 2);
  const VideoClip* both[] = {&a, &b};
  const VideoClip* only_b[] = {&b};
  auto batched = SharedModel()->Encode(both);
  auto single = SharedModel()->Encode(only_b);
  ASSERT_TRUE(batched.ok() && single.ok());
  // On CUDA, cuDNN (autotuned per shape, TF32 convolutions) may pick different algorithms
  // for batch 2 and batch 1: equal to TF32 rounding (2.9e-4 measured on an H100).
  const double tolerance = SharedModel()->info().device == "cpu" ? 1e-4 : 2e-3;
  EXPECT_LT(MaxAbsDiff((*batched)[1], (*single)[0]), tolerance);
}

TEST(VideoModel, DecodeRestoresPixelShapeWithBothDecoders) {
  Latent latent;
  latent.shape = {8, 2, 2, 3};
  latent.data.assign(latent.NumElements(), 0.5f);
  const Latent* latents[] = {&latent};
  for (DecoderKind kind : {DecoderKind::kFull, DecoderKind::kThin}) {
    auto clips = SharedModel()->Decode(latents, kind, 12.0);
    ASSERT_TRUE(clips.ok()) << clips.status();
    ASSERT_EQ(clips->size(), 1u);
    const VideoClip& clip = (*clips)[0];
    EXPECT_EQ(clip.frames, 5) << DecoderKindName(kind);
    EXPECT_EQ(clip.height, 16);
    EXPECT_EQ(clip.width, 24);
    EXPECT_EQ(clip.fps, 12.0);
    EXPECT_EQ(static_cast<int64_t>(clip.rgb.size()), clip.NumBytes());
  }
}

// The time-chunk budget changes how many frames each pass of the causal VAE sees, not the
// result: one latent frame per chunk and the whole clip at once agree to float rounding.
TEST(VideoModel, ChunkBudgetDoesNotChangeEncodeOrDecode) {
  EXPECT_EQ(SharedModel()->info().chunk_latent_voxels, kDefaultChunkLatentVoxels);
  std::vector<std::vector<Latent>> latents;
  std::vector<std::vector<VideoClip>> clips;
  for (int64_t budget : {1, 1 << 20}) {
    VideoModel::Options options = SeededTinyOptions();
    options.chunk_latent_voxels = budget;
    auto model = VideoModel::Create(options);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ((*model)->info().chunk_latent_voxels, budget);
    VideoClip clip = MakeClip(13, 16, 32, 3);  // 4 latent frames
    const VideoClip* in[] = {&clip};
    auto encoded = (*model)->Encode(in);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    const Latent* z[] = {&(*encoded)[0]};
    auto decoded = (*model)->Decode(z, DecoderKind::kThin, 24.0);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    latents.push_back(*encoded);
    clips.push_back(*decoded);
  }
  EXPECT_LT(MaxAbsDiff(latents[0][0], latents[1][0]), 2e-3);
  int max_byte_diff = 0;
  for (size_t i = 0; i < clips[0][0].rgb.size(); ++i) {
    max_byte_diff = std::max(max_byte_diff, std::abs(int{clips[0][0].rgb[i]} -
                                                     int{clips[1][0].rgb[i]}));
  }
  EXPECT_LE(max_byte_diff, 1);
}

// The fused norm (the default) against LibTorch's ops: the same weights give the same
// latents up to float rounding and the same bytes within one level, from both decoders.
TEST(VideoModel, FusedNormMatchesLibTorchNorms) {
  std::vector<std::vector<Latent>> latents;
  std::vector<std::vector<VideoClip>> clips;
  for (bool fused : {false, true}) {
    VideoModel::Options options = SeededTinyOptions();
    options.fused_norm = fused;
    auto model = VideoModel::Create(options);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ((*model)->info().fused_norm, fused);
    VideoClip a = MakeClip(9, 16, 32, 3), b = MakeClip(9, 16, 32, 11);
    const VideoClip* in[] = {&a, &b};
    auto encoded = (*model)->Encode(in);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    const Latent* z[] = {&(*encoded)[0], &(*encoded)[1]};
    std::vector<VideoClip> decoded;
    for (DecoderKind kind : {DecoderKind::kFull, DecoderKind::kThin}) {
      auto video = (*model)->Decode(z, kind, 24.0);
      ASSERT_TRUE(video.ok()) << video.status();
      for (VideoClip& clip : *video) decoded.push_back(std::move(clip));
    }
    latents.push_back(*encoded);
    clips.push_back(std::move(decoded));
  }
  for (size_t i = 0; i < latents[0].size(); ++i) {
    EXPECT_LT(MaxAbsDiff(latents[0][i], latents[1][i]), 2e-3);
  }
  ASSERT_EQ(clips[0].size(), 4u);
  for (size_t c = 0; c < clips[0].size(); ++c) {
    int max_byte_diff = 0;
    for (size_t i = 0; i < clips[0][c].rgb.size(); ++i) {
      max_byte_diff = std::max(max_byte_diff, std::abs(int{clips[0][c].rgb[i]} -
                                                       int{clips[1][c].rgb[i]}));
    }
    EXPECT_LE(max_byte_diff, 1) << "clip " << c;
  }
}

TEST(VideoModel, EncodeRejectsBadShapesNamingTheField) {
  VideoModel& model = *SharedModel();
  auto expect_invalid = [&](const VideoClip& clip, const std::string& needle) {
    const VideoClip* clips[] = {&clip};
    auto result = model.Encode(clips);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << needle;
    EXPECT_THAT(result.status().message(), HasSubstr(needle));
  };
  expect_invalid(MakeClip(4, 32, 32), "clips[0].frames");
  expect_invalid(MakeClip(5, 24, 32), "clips[0].height");
  expect_invalid(MakeClip(5, 32, 40), "clips[0].width");
  expect_invalid(MakeClip(69, 32, 32), "clips[0].frames");
  expect_invalid(MakeClip(5, 512, 32), "clips[0].height");
  VideoClip short_rgb = MakeClip(5, 32, 32);
  short_rgb.rgb.pop_back();
  expect_invalid(short_rgb, "clips[0].rgb");

  VideoClip a = MakeClip(5, 32, 32), b = MakeClip(1, 32, 32);
  const VideoClip* mixed[] = {&a, &b};
  EXPECT_THAT(model.Encode(mixed).status().message(), HasSubstr("clips[1]"));
  const VideoClip* with_null[] = {&a, nullptr};
  EXPECT_EQ(model.Encode(with_null).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(model.Encode({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VideoModel, DecodeRejectsBadLatentsNamingTheField) {
  VideoModel& model = *SharedModel();
  auto expect_invalid = [&](const Latent& latent, const std::string& needle) {
    const Latent* latents[] = {&latent};
    auto result = model.Decode(latents, DecoderKind::kFull, 24.0);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << needle;
    EXPECT_THAT(result.status().message(), HasSubstr(needle));
  };
  Latent wrong_channels;
  wrong_channels.shape = {4, 1, 2, 2};
  wrong_channels.data.assign(wrong_channels.NumElements(), 0.f);
  expect_invalid(wrong_channels, "latents[0].shape[0] (channels): expected 8, got 4");
  Latent wrong_size;
  wrong_size.shape = {8, 1, 2, 2};
  wrong_size.data.assign(5, 0.f);
  expect_invalid(wrong_size, "latents[0].data");
  Latent zero_dim;
  zero_dim.shape = {8, 0, 2, 2};
  expect_invalid(zero_dim, "latents[0].shape");
  Latent too_big;
  too_big.shape = {8, 1, 64, 2};
  too_big.data.assign(too_big.NumElements(), 0.f);
  expect_invalid(too_big, "beyond the model limits");

  Latent not_finite;
  not_finite.shape = {8, 1, 2, 2};
  not_finite.data.assign(not_finite.NumElements(), 0.f);
  not_finite.data[7] = NAN;
  expect_invalid(not_finite, "latents[0].data[7]: not a finite number");

  Latent ok;
  ok.shape = {8, 1, 2, 2};
  ok.data.assign(ok.NumElements(), 0.f);
  const Latent* latents[] = {&ok};
  EXPECT_THAT(model.Decode(latents, DecoderKind::kFull, 0.0).status().message(), HasSubstr("fps"));
}

TEST(VideoModel, StartGenerationRejectsBadParamsNamingTheField) {
  VideoModel& model = *SharedModel();
  auto expect_invalid = [&](GenerationParams p, const std::string& needle) {
    auto result = model.StartGeneration(p);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << needle;
    EXPECT_THAT(result.status().message(), HasSubstr(needle));
  };
  GenerationParams p = SmallParams("a cat", 1);
  p.frames = 6;
  expect_invalid(p, "params.frames");
  p = SmallParams("a cat", 1);
  p.height = 8;
  expect_invalid(p, "params.height");
  p = SmallParams("a cat", 1);
  p.steps = 0;
  expect_invalid(p, "params.steps");
  p = SmallParams("a cat", 1);
  p.steps = 1000;
  expect_invalid(p, "params.steps");
  p = SmallParams("a cat", 1);
  p.guidance = 50.f;
  expect_invalid(p, "params.guidance");
  p = SmallParams("a cat", 1);
  p.guidance = NAN;
  expect_invalid(p, "params.guidance");
  p = SmallParams(std::string(300, 'x'), 1);
  expect_invalid(p, "params.prompt");
}

TEST(VideoModel, GenerationLatentShapeFollowsParams) {
  auto g = SharedModel()->StartGeneration(SmallParams("a dog", 3));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->latent_shape(), (std::array<int64_t, 4>{8, 2, 4, 4}));
  EXPECT_EQ((*g)->steps_done(), 0);
  EXPECT_FALSE((*g)->finished());
  EXPECT_EQ(SharedModel()->FinalLatent(**g).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(VideoModel, SameSeedGivesIdenticalVideo) {
  VideoModel& model = *SharedModel();
  Latent a = Generate(model, SmallParams("a red ball", 42));
  Latent b = Generate(model, SmallParams("a red ball", 42));
  EXPECT_EQ(a.data, b.data);
  const Latent* la[] = {&a};
  const Latent* lb[] = {&b};
  auto va = model.Decode(la, DecoderKind::kThin, 24.0);
  auto vb = model.Decode(lb, DecoderKind::kThin, 24.0);
  ASSERT_TRUE(va.ok() && vb.ok());
  EXPECT_EQ((*va)[0].rgb, (*vb)[0].rgb);
}

TEST(VideoModel, DifferentSeedOrPromptGivesDifferentVideo) {
  VideoModel& model = *SharedModel();
  Latent a = Generate(model, SmallParams("a red ball", 42));
  Latent b = Generate(model, SmallParams("a red ball", 43));
  Latent c = Generate(model, SmallParams("a blue cube", 42));
  EXPECT_GT(MaxAbsDiff(a, b), 1e-2);
  EXPECT_GT(MaxAbsDiff(a, c), 1e-5);
}

TEST(VideoModel, BatchedDenoiseStepEqualsUnbatched) {
  VideoModel& model = *SharedModel();
  // Different prompts (lengths), seeds, guidance (with and without CFG) and progress.
  std::vector<GenerationParams> params = {SmallParams("a red ball", 1, 4.0f),
                                          SmallParams("", 2, 1.0f),
                                          SmallParams("a very long prompt about waves", 3, 2.5f)};
  params[2].steps = 5;
  std::vector<Latent> expected;
  for (const auto& p : params) expected.push_back(Generate(model, p));

  std::vector<std::unique_ptr<Generation>> gens;
  for (const auto& p : params) gens.push_back(*model.StartGeneration(p));
  // Generation 2 runs one step alone first, so the batch mixes timesteps.
  Generation* first[] = {gens[2].get()};
  ASSERT_TRUE(model.DenoiseStep(first).ok());
  while (true) {
    std::vector<Generation*> active;
    for (auto& g : gens) {
      if (!g->finished()) active.push_back(g.get());
    }
    if (active.empty()) break;
    ASSERT_TRUE(model.DenoiseStep(active).ok());
  }
  for (size_t i = 0; i < gens.size(); ++i) {
    auto latent = model.FinalLatent(*gens[i]);
    ASSERT_TRUE(latent.ok());
    EXPECT_LT(MaxAbsDiff(*latent, expected[i]), 1e-4) << "generation " << i;
  }
}

// The shared model's weights (init_seed 7) with other sampler settings.
std::unique_ptr<VideoModel> ModelWithSampler(const SamplerOverrides& sampler) {
  VideoModel::Options options = SeededTinyOptions();
  options.num_threads = 2;
  options.sampler = sampler;
  auto created = VideoModel::Create(options);
  EXPECT_TRUE(created.ok()) << created.status();
  return std::move(*created);
}

TEST(VideoModel, GuidanceIntervalLeavesStepsOutsideItUnguided) {
  // Three steps start at t = 1, 2/3 and 1/3. An interval holding none of them guides no
  // step, which is the unguided generation; one holding only the first differs from both.
  SamplerOverrides none;
  none.guidance_min_t = 0.0;
  none.guidance_max_t = 0.2;
  auto unguided_model = ModelWithSampler(none);
  EXPECT_DOUBLE_EQ(unguided_model->info().config.sampler.guidance_max_t, 0.2);
  const Latent guided_nowhere = Generate(*unguided_model, SmallParams("a red ball", 5, 4.0f));
  const Latent unguided = Generate(*SharedModel(), SmallParams("a red ball", 5, 1.0f));
  EXPECT_LT(MaxAbsDiff(guided_nowhere, unguided), 1e-5);

  SamplerOverrides first_only;
  first_only.guidance_min_t = 0.9;
  auto first_only_model = ModelWithSampler(first_only);
  const Latent guided_first = Generate(*first_only_model, SmallParams("a red ball", 5, 4.0f));
  const Latent guided_all = Generate(*SharedModel(), SmallParams("a red ball", 5, 4.0f));
  EXPECT_GT(MaxAbsDiff(guided_first, unguided), 1e-4);
  EXPECT_GT(MaxAbsDiff(guided_first, guided_all), 1e-4);
}

TEST(VideoModel, StochasticSamplingIsReproducibleAndIndependentOfTheBatch) {
  SamplerOverrides stochastic;
  stochastic.stochasticity = 1.0;
  auto model = ModelWithSampler(stochastic);
  EXPECT_DOUBLE_EQ(model->info().config.sampler.stochasticity, 1.0);
  std::vector<GenerationParams> params = {SmallParams("a red ball", 1, 4.0f),
                                          SmallParams("a blue cube", 2, 1.0f)};
  params[1].steps = 5;
  std::vector<Latent> alone;
  for (const auto& p : params) alone.push_back(Generate(*model, p));
  EXPECT_EQ(Generate(*model, params[0]).data, alone[0].data);
  // Each step's fresh noise comes from the request's own generator, so the same requests
  // batched together (and out of step) end where they ended alone.
  std::vector<std::unique_ptr<Generation>> gens;
  for (const auto& p : params) gens.push_back(*model->StartGeneration(p));
  Generation* first[] = {gens[1].get()};
  ASSERT_TRUE(model->DenoiseStep(first).ok());
  while (true) {
    std::vector<Generation*> active;
    for (auto& g : gens) {
      if (!g->finished()) active.push_back(g.get());
    }
    if (active.empty()) break;
    ASSERT_TRUE(model->DenoiseStep(active).ok());
  }
  for (size_t i = 0; i < gens.size(); ++i) {
    EXPECT_LT(MaxAbsDiff(*model->FinalLatent(*gens[i]), alone[i]), 1e-4) << "generation " << i;
  }
  // The fresh noise changes the result against the deterministic sampler and with the seed.
  EXPECT_GT(MaxAbsDiff(alone[0], Generate(*SharedModel(), params[0])), 1e-3);
  EXPECT_GT(MaxAbsDiff(alone[0], Generate(*model, SmallParams("a red ball", 9, 4.0f))), 1e-3);
}

TEST(VideoModel, RequestSamplerSettingsMatchTheModelsAndMixInOneBatch) {
  // A request's own settings give what a model configured with them gives.
  SamplerOverrides settings;
  settings.guidance_min_t = 0.5;
  settings.stochasticity = 1.5;
  auto configured = ModelWithSampler(settings);
  GenerationParams overridden = SmallParams("a red ball", 4, 4.0f);
  overridden.guidance_min_t = 0.5;
  overridden.stochasticity = 1.5;
  const Latent per_request = Generate(*SharedModel(), overridden);
  EXPECT_EQ(per_request.data, Generate(*configured, SmallParams("a red ball", 4, 4.0f)).data);

  // Requests with different settings share DenoiseStep batches and end as they end alone.
  std::vector<GenerationParams> params = {overridden, SmallParams("a blue cube", 5, 4.0f),
                                          SmallParams("a green ball", 6, 2.0f)};
  params[2].guidance_max_t = 0.5;
  params[2].steps = 4;
  std::vector<Latent> alone;
  for (const auto& p : params) alone.push_back(Generate(*SharedModel(), p));
  std::vector<std::unique_ptr<Generation>> gens;
  for (const auto& p : params) gens.push_back(*SharedModel()->StartGeneration(p));
  while (true) {
    std::vector<Generation*> active;
    for (auto& g : gens) {
      if (!g->finished()) active.push_back(g.get());
    }
    if (active.empty()) break;
    ASSERT_TRUE(SharedModel()->DenoiseStep(active).ok());
  }
  for (size_t i = 0; i < gens.size(); ++i) {
    EXPECT_LT(MaxAbsDiff(*SharedModel()->FinalLatent(*gens[i]), alone[i]), 1e-4)
        << "generation " << i;
  }
}

TEST(VideoModel, StartGenerationRejectsSamplerSettingsNamingTheField) {
  GenerationParams params = SmallParams("a", 1);
  params.stochasticity = -1.0;
  EXPECT_THAT(SharedModel()->StartGeneration(params).status().message(),
              HasSubstr("params.stochasticity: must be in [0, 4], got -1"));
  params = SmallParams("a", 1);
  params.guidance_min_t = 0.7;
  params.guidance_max_t = 0.6;
  EXPECT_THAT(SharedModel()->StartGeneration(params).status().message(),
              HasSubstr("params.guidance_max_t"));
}

TEST(VideoModel, CreateRejectsSamplerOverridesOutOfRangeNamingTheKey) {
  VideoModel::Options options;
  options.config = *LoadPreset("tiny");
  options.device = "cpu";
  options.sampler.stochasticity = 5.0;
  EXPECT_THAT(VideoModel::Create(options).status().message(),
              HasSubstr("sampler.stochasticity: must be in [0, 4], got 5"));
  options.sampler = {};
  options.sampler.guidance_min_t = 0.6;
  options.sampler.guidance_max_t = 0.5;
  EXPECT_THAT(VideoModel::Create(options).status().message(),
              HasSubstr("sampler.guidance_max_t: must be in [sampler.guidance_min_t 0.6, 1]"));
}

TEST(VideoModel, DenoiseStepRejectsMixedShapesDuplicatesAndFinished) {
  VideoModel& model = *SharedModel();
  auto a = *model.StartGeneration(SmallParams("a", 1));
  GenerationParams big = SmallParams("b", 2);
  big.height = 48;
  auto b = *model.StartGeneration(big);
  Generation* mixed[] = {a.get(), b.get()};
  auto status = model.DenoiseStep(mixed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("batch[1]"));
  Generation* twice[] = {a.get(), a.get()};
  EXPECT_EQ(model.DenoiseStep(twice).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(model.DenoiseStep({}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a->steps_done(), 0);

  GenerationParams one = SmallParams("c", 3);
  one.steps = 1;
  auto c = *model.StartGeneration(one);
  Generation* just_c[] = {c.get()};
  ASSERT_TRUE(model.DenoiseStep(just_c).ok());
  EXPECT_TRUE(c->finished());
  EXPECT_EQ(model.DenoiseStep(just_c).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(model.FinalLatent(*c).ok());
}

TEST(VideoModel, CreateRejectsBadOptions) {
  VideoModel::Options options;
  options.config = *LoadPreset("tiny");
  options.device = "tpu";
  EXPECT_THAT(VideoModel::Create(options).status().message(), HasSubstr("device"));
  options.device = "cpu";
  options.config.denoiser.num_heads = 3;
  EXPECT_THAT(VideoModel::Create(options).status().message(), HasSubstr("denoiser.num_heads"));
  options.config = *LoadPreset("tiny");
  options.checkpoint_path = "/nonexistent/model.safetensors";
  EXPECT_EQ(VideoModel::Create(options).status().code(), absl::StatusCode::kNotFound);
  options.checkpoint_path.clear();
  options.cuda_graph_cache_size = -1;
  EXPECT_EQ(VideoModel::Create(options).status().message(),
            "cuda_graph_cache_size: must be in [0, 1024] (0 = eager decode), got -1");
  options.cuda_graph_cache_size = 8;
  options.chunk_latent_voxels = -1;
  EXPECT_EQ(VideoModel::Create(options).status().message(),
            "chunk_latent_voxels: must be >= 0 (0 = the default, 4096), got -1");
  options.chunk_latent_voxels = 0;
  options.decode_page_locked_max_bytes = -1;
  EXPECT_EQ(VideoModel::Create(options).status().message(),
            "decode_page_locked_max_bytes: must be >= 0 (0 = never), got -1");
  options.decode_page_locked_max_bytes = 0;
  if (!CudaAvailable()) {
    options.checkpoint_path.clear();
    options.device = "cuda";
    EXPECT_EQ(VideoModel::Create(options).status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST(VideoModel, MemoryStatsAreZeroOnCpuAndPositiveOnCuda) {
  auto stats = SharedModel()->DeviceMemory();
  if (SharedModel()->info().device == "cpu") {
    EXPECT_EQ(stats.allocated_bytes, 0);
    EXPECT_EQ(stats.total_bytes, 0);
  } else {
    EXPECT_GT(stats.allocated_bytes, 0);
    EXPECT_GE(stats.reserved_bytes, stats.allocated_bytes);
    EXPECT_GE(stats.peak_bytes, stats.allocated_bytes);
    EXPECT_GT(stats.total_bytes, stats.reserved_bytes);
  }
}

TEST(VideoModel, HybridMixersGenerateAndBatchConsistently) {
  VideoModel::Options options;
  options.config = *LoadPreset("tiny");
  options.config.denoiser.mixers = {"softmax", "loglinear", "mesa", "softmax"};
  options.config.denoiser.loglinear_chunk_size = 4;
  options.device = TestDevice();
  options.init_seed = 3;
  auto model = VideoModel::Create(options);
  ASSERT_TRUE(model.ok()) << model.status();
  GenerationParams a = SmallParams("waves", 1), b = SmallParams("a forest at night", 2, 1.0f);
  a.height = b.height = 48;  // 2 x 3 x 3 = 18 tokens: several log-linear chunks
  const Latent alone_a = Generate(**model, a), alone_b = Generate(**model, b);
  auto ga = *(*model)->StartGeneration(a);
  auto gb = *(*model)->StartGeneration(b);
  while (!ga->finished()) {
    Generation* batch[] = {ga.get(), gb.get()};
    ASSERT_TRUE((*model)->DenoiseStep(batch).ok());
  }
  EXPECT_LT(MaxAbsDiff(*(*model)->FinalLatent(*ga), alone_a), 1e-4);
  EXPECT_LT(MaxAbsDiff(*(*model)->FinalLatent(*gb), alone_b), 1e-4);
}

TEST(VideoTypes, DecoderKindNames) {
  EXPECT_STREQ(DecoderKindName(DecoderKind::kFull), "full");
  EXPECT_STREQ(DecoderKindName(DecoderKind::kThin), "thin");
}

}  // namespace
}  // namespace vidserve

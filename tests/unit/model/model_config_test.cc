#include "model/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;

TEST(ModelConfig, TinyPresetLoadsWithDocumentedDefaults) {
  auto config = LoadPreset("tiny");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->preset, "tiny");
  EXPECT_EQ(config->vae.latent_channels, 8);
  EXPECT_EQ(config->vae.channels, (std::vector<int64_t>{32, 64, 128}));
  EXPECT_EQ(config->denoiser.hidden_dim, 128);
  EXPECT_EQ(config->denoiser.num_layers, 4);
  EXPECT_EQ(config->limits.max_frames, 65);
  EXPECT_EQ(config->limits.default_frames, 17);
  EXPECT_EQ(config->sampler.default_steps, 20);
}

TEST(ModelConfig, SeedPresetMatchesTheReport) {
  auto config = LoadPreset("seed");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->vae.in_channels, 3);
  EXPECT_EQ(config->vae.latent_channels, 64);
  EXPECT_EQ(config->denoiser.hidden_dim, 512);
  EXPECT_EQ(config->denoiser.num_heads, 8);
}

TEST(ModelConfig, PresetDirectoryFromEnvironmentComesFirst) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "vidserve_presets_env_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "custom.yaml") << "name: custom-model\ndenoiser:\n  num_layers: 2\n";
  std::ofstream(dir / "broken.yaml") << "denoiser:\n  num_heads: 3\n";
  ASSERT_EQ(setenv("VIDSERVE_PRESET_DIR", dir.c_str(), 1), 0);
  auto custom = LoadPreset("custom");
  auto tiny = LoadPreset("tiny");  // still found in the source tree's presets
  auto broken = LoadPreset("broken");
  unsetenv("VIDSERVE_PRESET_DIR");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->name, "custom-model");
  EXPECT_EQ(custom->denoiser.num_layers, 2);
  EXPECT_TRUE(tiny.ok()) << tiny.status();
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("broken.yaml"));  // the file is named
  EXPECT_THAT(broken.status().message(), HasSubstr("denoiser.num_heads"));
}

TEST(ModelConfig, KnownPresetsListsTinyAndSeed) {
  auto presets = KnownPresets();
  EXPECT_THAT(presets, ::testing::IsSupersetOf({"tiny", "seed"}));
}

TEST(ModelConfig, UnknownPresetIsNotFoundAndListsKnownOnes) {
  auto config = LoadPreset("huge");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("tiny"));
  EXPECT_EQ(LoadPreset("../etc/passwd").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelConfig, HeadsNotDividingHiddenDimNamesTheKey) {
  auto config = ParseModelConfigYaml("denoiser:\n  hidden_dim: 128\n  num_heads: 3\n");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("denoiser.num_heads: must divide hidden_dim 128, got 3"));
}

TEST(ModelConfig, WrongTypeNamesTheKeyAndValue) {
  auto config = ParseModelConfigYaml("vae:\n  latent_channels: many\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("vae.latent_channels"));
  EXPECT_THAT(config.status().message(), HasSubstr("many"));
}

TEST(ModelConfig, UnknownKeyIsRejectedByName) {
  auto config = ParseModelConfigYaml("denoiser:\n  hiden_dim: 64\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("denoiser.hiden_dim: unknown key"));
  EXPECT_THAT(ParseModelConfigYaml("vea: {}\n").status().message(), HasSubstr("vea: unknown key"));
}

TEST(ModelConfig, UnknownMixerNamesTheLayer) {
  auto config = ParseModelConfigYaml("denoiser:\n  num_layers: 2\n  mixers: [softmax, linear]\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("denoiser.mixers[1]"));
  EXPECT_THAT(config.status().message(), HasSubstr("linear"));
}

TEST(ModelConfig, MixerListMustMatchLayerCount) {
  auto config = ParseModelConfigYaml("denoiser:\n  num_layers: 4\n  mixers: [softmax, mesa]\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("denoiser.mixers"));
}

TEST(ModelConfig, MixerOfLayerExpandsASingleEntry) {
  auto single = ParseModelConfigYaml("denoiser:\n  num_layers: 3\n  mixers: loglinear\n");
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->MixerOfLayer(2), "loglinear");
  auto hybrid =
      ParseModelConfigYaml("denoiser:\n  num_layers: 3\n  mixers: [softmax, mesa, loglinear]\n");
  ASSERT_TRUE(hybrid.ok()) << hybrid.status();
  EXPECT_EQ(hybrid->MixerOfLayer(1), "mesa");
}

TEST(ModelConfig, LogLinearChunkMustBeAPowerOfTwo) {
  auto config = ParseModelConfigYaml("denoiser:\n  loglinear_chunk_size: 48\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("denoiser.loglinear_chunk_size: must be a power of two, got 48"));
}

TEST(ModelConfig, FrameLimitsMustBeFourKPlusOne) {
  auto config = ParseModelConfigYaml("limits:\n  max_frames: 64\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("limits.max_frames: must be 4k+1, got 64"));
}

TEST(ModelConfig, SyntaxErrorIsReported) {
  auto config = ParseModelConfigYaml("vae: [unclosed\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("YAML"));
}

TEST(ModelConfig, JsonRoundTripPreservesEveryField) {
  auto tiny = LoadPreset("tiny");
  ASSERT_TRUE(tiny.ok());
  ModelConfig config = *tiny;
  config.denoiser.mixers = {"softmax", "mesa", "loglinear", "softmax"};
  config.vae.thin_width_multiplier = 0.3;
  config.vae.thin_output_patch = 4;
  config.vae.thin_latent_res_blocks = 1;
  config.vae.thin_upsample_to_next_width = 2;
  config.sampler.timestep_shift = 2.5;
  config.sampler.guidance_min_t = 0.25;
  config.sampler.guidance_max_t = 0.75;
  config.sampler.stochasticity = 1.5;
  config.denoiser.qk_norm = true;
  auto back = ModelConfigFromJson(ModelConfigToJson(config));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ModelConfigToJson(*back), ModelConfigToJson(config));
  EXPECT_DOUBLE_EQ(back->sampler.guidance_min_t, 0.25);
  EXPECT_DOUBLE_EQ(back->sampler.guidance_max_t, 0.75);
  EXPECT_DOUBLE_EQ(back->sampler.stochasticity, 1.5);
  EXPECT_EQ(back->denoiser.mixers, config.denoiser.mixers);
  EXPECT_DOUBLE_EQ(back->vae.thin_width_multiplier, 0.3);
  EXPECT_EQ(back->vae.thin_output_patch, 4);
  EXPECT_EQ(back->vae.thin_latent_res_blocks, 1);
  EXPECT_EQ(back->vae.thin_upsample_to_next_width, 2);
  EXPECT_TRUE(back->denoiser.qk_norm);
}

TEST(ModelConfig, QkNormIsOffUnlessSetAndMustBeABoolean) {
  auto tiny = LoadPreset("tiny");
  ASSERT_TRUE(tiny.ok());
  EXPECT_FALSE(tiny->denoiser.qk_norm);
  auto on = ParseModelConfigYaml("denoiser:\n  qk_norm: true\n");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->denoiser.qk_norm);
  auto bad = ParseModelConfigYaml("denoiser:\n  qk_norm: maybe\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("denoiser.qk_norm"));
  EXPECT_THAT(bad.status().message(), HasSubstr("maybe"));
}

TEST(ModelConfig, ThinLatentResBlocksAreAllOrAtMostTheMidBlockAndOneStage) {
  auto tiny = LoadPreset("tiny");
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->vae.thin_latent_res_blocks, -1);  // all, as before the key existed
  EXPECT_TRUE(ParseModelConfigYaml("vae:\n  thin_latent_res_blocks: 0\n").ok());
  EXPECT_TRUE(ParseModelConfigYaml("vae:\n  thin_latent_res_blocks: 2\n").ok());
  for (const char* bad : {"-2", "3"}) {
    auto config = ParseModelConfigYaml(absl::StrCat("vae:\n  thin_latent_res_blocks: ", bad, "\n"));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(config.status().message(), HasSubstr("vae.thin_latent_res_blocks"));
    EXPECT_THAT(config.status().message(), HasSubstr("[0, 2]"));
  }
}

TEST(ModelConfig, ThinOutputPatchIsOneTwoOrFour) {
  auto config = ParseModelConfigYaml("vae:\n  thin_output_patch: 3\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("vae.thin_output_patch: must be 1, 2 or 4, got 3"));
  EXPECT_TRUE(ParseModelConfigYaml("vae:\n  thin_output_patch: 2\n").ok());
}

TEST(ModelConfig, SamplerDefaultsGuideEveryStepDeterministically) {
  auto config = ParseModelConfigYaml("name: x\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_DOUBLE_EQ(config->sampler.guidance_min_t, 0.0);
  EXPECT_DOUBLE_EQ(config->sampler.guidance_max_t, 1.0);
  EXPECT_DOUBLE_EQ(config->sampler.stochasticity, 0.0);
}

TEST(ModelConfig, SamplerIntervalAndStochasticityRangesNameTheKey) {
  EXPECT_THAT(ParseModelConfigYaml("sampler:\n  guidance_min_t: -0.1\n").status().message(),
              HasSubstr("sampler.guidance_min_t: must be in [0, 1], got -0.1"));
  EXPECT_THAT(
      ParseModelConfigYaml("sampler:\n  guidance_min_t: 0.5\n  guidance_max_t: 0.4\n")
          .status()
          .message(),
      HasSubstr("sampler.guidance_max_t: must be in [sampler.guidance_min_t 0.5, 1], got 0.4"));
  EXPECT_THAT(ParseModelConfigYaml("sampler:\n  stochasticity: 4.5\n").status().message(),
              HasSubstr("sampler.stochasticity: must be in [0, 4], got 4.5"));
  EXPECT_THAT(ParseModelConfigYaml("sampler:\n  stochasticity: .nan\n").status().message(),
              HasSubstr("sampler.stochasticity"));
  auto ok = ParseModelConfigYaml(
      "sampler:\n  guidance_min_t: 0.3\n  guidance_max_t: 1\n  stochasticity: 2\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_DOUBLE_EQ(ok->sampler.guidance_min_t, 0.3);
  EXPECT_DOUBLE_EQ(ok->sampler.stochasticity, 2.0);
}

TEST(ModelConfig, SamplerOverridesReplaceOnlyTheFieldsTheyNameAndValidate) {
  ModelConfig config = *LoadPreset("tiny");
  config.sampler.guidance_min_t = 0.3;
  SamplerOverrides overrides;
  overrides.stochasticity = 2.0;
  ASSERT_TRUE(ApplySamplerOverrides(overrides, config.limits, config.sampler).ok());
  EXPECT_DOUBLE_EQ(config.sampler.stochasticity, 2.0);
  EXPECT_DOUBLE_EQ(config.sampler.guidance_min_t, 0.3);  // not named: kept
  EXPECT_DOUBLE_EQ(config.sampler.timestep_shift, 1.0);
  // Out of range against the config's own min: an error naming the key, config unchanged.
  SamplerOverrides bad;
  bad.guidance_max_t = 0.2;
  bad.stochasticity = 0.5;
  absl::Status status = ApplySamplerOverrides(bad, config.limits, config.sampler);
  EXPECT_THAT(status.message(), HasSubstr("sampler.guidance_max_t"));
  EXPECT_DOUBLE_EQ(config.sampler.guidance_max_t, 1.0);
  EXPECT_DOUBLE_EQ(config.sampler.stochasticity, 2.0);
}

TEST(ModelConfig, BadJsonIsInvalidArgument) {
  EXPECT_EQ(ModelConfigFromJson("{not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelConfigFromJson("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelConfig, ThinUpsampleToNextWidthCoversAllButThePixelStage) {
  auto tiny = LoadPreset("tiny");
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->vae.thin_upsample_to_next_width, 0);  // none, as before the key existed
  EXPECT_TRUE(ParseModelConfigYaml("vae:\n  thin_upsample_to_next_width: 1\n").ok());
  EXPECT_TRUE(ParseModelConfigYaml("vae:\n  thin_upsample_to_next_width: 2\n").ok());
  for (const char* bad : {"-1", "3"}) {
    auto config =
        ParseModelConfigYaml(absl::StrCat("vae:\n  thin_upsample_to_next_width: ", bad, "\n"));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(config.status().message(), HasSubstr("vae.thin_upsample_to_next_width"));
    EXPECT_THAT(config.status().message(), HasSubstr("[0, 2]"));
  }
}

}  // namespace
}  // namespace vidserve

// The checkpoint `make run` serves (models/vidserve-tiny): it loads as trained with its
// measured metrics, and it follows colour in prompts, judged by the same analytic
// detector as vidserve-bench quality, on CPU with fixed prompts and seeds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/caption_parser.h"
#include "data/clip_detector.h"
#include "data/synthetic_clip_generator.h"
#include "eval/video_quality.h"
#include "model/model_config.h"
#include "model/video_model.h"

namespace vidserve {
namespace {

const std::string kShipped = std::string(VIDSERVE_SOURCE_DIR) + "/models/vidserve-tiny";

std::unique_ptr<VideoModel> LoadShipped() {
  VideoModel::Options options;
  options.checkpoint_path = kShipped;
  options.device = "cpu";
  auto model = VideoModel::Create(options);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(*model) : nullptr;
}

// Generates every prompt in one batch (17x64x64, 20 steps, model default guidance) and
// decodes with the full decoder, as Generate does by default.
std::vector<media::VideoFrames> Generate(VideoModel& model, const std::vector<std::string>& prompts,
                                         uint64_t seed) {
  std::vector<std::unique_ptr<Generation>> generations;
  std::vector<Generation*> batch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationParams params;
    params.prompt = prompts[i];
    params.steps = 20;
    params.guidance = static_cast<float>(model.info().config.sampler.default_guidance);
    params.seed = seed + i;
    auto generation = model.StartGeneration(params);
    EXPECT_TRUE(generation.ok()) << generation.status();
    generations.push_back(std::move(*generation));
    batch.push_back(generations.back().get());
  }
  while (!batch.front()->finished()) EXPECT_TRUE(model.DenoiseStep(batch).ok());
  std::vector<media::VideoFrames> videos;
  for (auto& generation : generations) {
    auto latent = model.FinalLatent(*generation);
    EXPECT_TRUE(latent.ok());
    auto clips = model.Decode({&*latent}, DecoderKind::kFull, 24.0);
    EXPECT_TRUE(clips.ok()) << clips.status();
    media::VideoFrames video;
    video.frames = (*clips)[0].frames;
    video.height = (*clips)[0].height;
    video.width = (*clips)[0].width;
    video.rgb = (*clips)[0].rgb;
    videos.push_back(std::move(video));
  }
  return videos;
}

TEST(ShippedCheckpoint, LoadsAsTrainedWithItsMetrics) {
  ASSERT_TRUE(std::filesystem::exists(kShipped + "/model.safetensors"));
  auto model = LoadShipped();
  ASSERT_NE(model, nullptr);
  const ModelInfo& info = model->info();
  EXPECT_TRUE(info.trained);
  EXPECT_EQ(info.config.name, "vidserve-tiny");
  EXPECT_EQ(info.config.vae.latent_std.size(), static_cast<size_t>(info.config.vae.latent_channels));
  EXPECT_GE(info.metrics.at("vae_full_psnr_db"), 30.0);
  EXPECT_GE(info.metrics.at("colour_accuracy_pct"), 90.0);
  // The architecture and the sampler settings its quality was measured with are the ones
  // models/vidserve-tiny/config.yaml documents; only the latent statistics, which the
  // trainer measured, are the file's alone.
  auto documented = LoadModelConfigFile(kShipped + "/config.yaml");
  ASSERT_TRUE(documented.ok()) << documented.status();
  documented->vae.latent_mean = info.config.vae.latent_mean;
  documented->vae.latent_std = info.config.vae.latent_std;
  EXPECT_EQ(ModelConfigToJson(info.config), ModelConfigToJson(*documented));
  // The thin decoder's measured loss is within the 0.5 dB.
  EXPECT_LE(info.metrics.at("vae_full_psnr_db") - info.metrics.at("vae_thin_psnr_db"), 0.5);
  // Within the size budget (fp16, <= 40 MB).
  EXPECT_LE(std::filesystem::file_size(kShipped + "/model.safetensors"), 40u * 1000 * 1000);
}

TEST(ShippedCheckpoint, ThinDecoderReconstructsHeldOutClipsWithinHalfADecibelOfTheFullOne) {
  // The 256 held-out clips vidserve-bench quality reports (31.9 dB for the full decoder and a
  // 0.43 dB thin loss for the shipped weights), through Encode, then Decode with each decoder,
  // 32 at a time: the mean PSNR of the full decoder's clips and the thin decoder's loss
  // against it. All 256, since the loss varies by background: the first 16 alone give 0.52 dB.
  auto model = LoadShipped();
  ASSERT_NE(model, nullptr);
  data::SyntheticClipOptions options;  // 17x64x64, as trained
  const std::vector<uint64_t> seeds = data::HeldOutSeeds(256);
  constexpr size_t kBatch = 32;
  double psnr_sum[2] = {0, 0};
  for (size_t start = 0; start < seeds.size(); start += kBatch) {
    std::vector<media::VideoFrames> truths;
    std::vector<VideoClip> clips;
    for (size_t i = start; i < std::min(seeds.size(), start + kBatch); ++i) {
      truths.push_back(data::Render(data::SampleSpec(seeds[i], options)));
      VideoClip clip;
      clip.frames = truths.back().frames;
      clip.height = truths.back().height;
      clip.width = truths.back().width;
      clip.rgb = truths.back().rgb;
      clips.push_back(std::move(clip));
    }
    std::vector<const VideoClip*> clip_ptrs;
    for (const VideoClip& clip : clips) clip_ptrs.push_back(&clip);
    auto latents = model->Encode(clip_ptrs);
    ASSERT_TRUE(latents.ok()) << latents.status();
    std::vector<const Latent*> latent_ptrs;
    for (const Latent& latent : *latents) latent_ptrs.push_back(&latent);
    const DecoderKind kinds[2] = {DecoderKind::kFull, DecoderKind::kThin};
    for (int k = 0; k < 2; ++k) {
      auto decoded = model->Decode(latent_ptrs, kinds[k], 24.0);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      ASSERT_EQ(decoded->size(), truths.size());
      for (size_t i = 0; i < truths.size(); ++i) {
        media::VideoFrames frames = truths[i];
        frames.rgb = (*decoded)[i].rgb;
        auto psnr = eval::Psnr(truths[i], frames);
        ASSERT_TRUE(psnr.ok()) << psnr.status();
        psnr_sum[k] += *psnr;
      }
    }
  }
  const double full_db = psnr_sum[0] / seeds.size(), thin_db = psnr_sum[1] / seeds.size();
  EXPECT_GE(full_db, 30.0);
  EXPECT_LE(full_db - thin_db, 0.5) << "full " << full_db << " dB, thin " << thin_db << " dB";
}

TEST(ShippedCheckpoint, GeneratesTheColourThePromptNames) {
  auto model = LoadShipped();
  ASSERT_NE(model, nullptr);
  const std::vector<std::string> colours = {"red", "green", "blue", "yellow"};
  std::vector<std::string> prompts;
  for (const auto& colour : colours) {
    prompts.push_back("a large " + colour + " square standing still on a black background");
  }
  const auto videos = Generate(*model, prompts, /*seed=*/7);
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto detection = data::DetectClip(videos[i]);
    ASSERT_TRUE(detection.ok()) << detection.status();
    ASSERT_TRUE(detection->found()) << prompts[i];
    const data::ExpectedAttributes expected = data::ParseCaption(prompts[i]);
    EXPECT_EQ(data::Score(*detection, expected).colour_correct, true)
        << prompts[i] << ": detected " << data::ColourName(detection->objects[0].colour);
  }
}

}  // namespace
}  // namespace vidserve

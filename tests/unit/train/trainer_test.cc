// The training loop end to end on CPU with a deliberately small model and 5x32x32 clips:
// each stage learns, resuming gives the identical next step, and the merged checkpoint is
// what the server loads.
#include "train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "model/checkpoint.h"
#include "model/video_model.h"
#include "model/video_network.h"
#include "train/checkpoint_merge.h"

namespace vidserve::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kSmallModel[] = R"(name: train-test
vae:
  latent_channels: 4
  channels: [8, 16, 16]
  thin_width_multiplier: 0.5
denoiser:
  hidden_dim: 32
  num_layers: 2
  num_heads: 2
  text_dim: 32
  text_layers: 1
  text_heads: 2
limits:
  default_frames: 5
  default_height: 32
  default_width: 32
)";

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::ofstream(root_ / "small.yaml") << kSmallModel;
  }

  // A checkpoint (file or directory) served on the CPU, as the server would load it.
  static absl::StatusOr<std::unique_ptr<VideoModel>> ServeOnCpu(const std::string& checkpoint) {
    VideoModel::Options options;
    options.checkpoint_path = checkpoint;
    options.device = "cpu";
    return VideoModel::Create(options);
  }

  TrainOptions Options(TrainStage stage, const std::string& run, int64_t steps) const {
    TrainOptions o;
    o.stage = stage;
    o.run_dir = (root_ / run).string();
    o.config = (root_ / "small.yaml").string();
    o.device = "cpu";
    o.steps = steps;
    o.batch_size = 4;
    o.progress_bar = false;
    o.log_every = 5;
    o.optimizer.learning_rate = 3e-3;
    o.optimizer.warmup_steps = 3;
    o.data.frames = 5;
    o.data.height = 32;
    o.data.width = 32;
    o.data.loader_threads = 2;
    o.data.latent_cache_clips = 64;
    return o;
  }

  static double Mean(const std::vector<double>& v, size_t from, size_t to) {
    return std::accumulate(v.begin() + from, v.begin() + to, 0.0) / static_cast<double>(to - from);
  }

  // Every parameter and buffer of `a` equals `b`'s, bit for bit.
  static void ExpectSameTensors(const torch::nn::Module& a, const torch::nn::Module& b) {
    const auto da = ModuleStateDict(a);
    const auto db = ModuleStateDict(b);
    ASSERT_EQ(da.size(), db.size());
    for (size_t i = 0; i < da.size(); ++i) {
      EXPECT_TRUE(torch::equal(da[i].second, db[i].second)) << da[i].first;
    }
  }

  fs::path root_;
};

TEST_F(TrainerTest, VaeLossDecreasesAndTheExportLoads) {
  auto summary = RunTraining(Options(TrainStage::kVae, "vae", 40));
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(summary->step_losses.size(), 40u);
  EXPECT_TRUE(summary->finished);
  EXPECT_LT(Mean(summary->step_losses, 35, 40), 0.8 * Mean(summary->step_losses, 0, 5));
  EXPECT_TRUE(fs::exists(root_ / "vae" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(root_ / "vae" / "summary.json"));
  std::ifstream csv(root_ / "vae" / "losses.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_THAT(header, HasSubstr("step,lr,loss,l1,ssim"));
  EXPECT_GT(summary->evaluation.at("heldout_psnr_db"), 5.0);
}

TEST_F(TrainerTest, ResumingGivesTheIdenticalNextSteps) {
  auto straight = RunTraining(Options(TrainStage::kVae, "straight", 6));
  ASSERT_TRUE(straight.ok()) << straight.status();
  auto first_half = RunTraining(Options(TrainStage::kVae, "split", 6), /*max_steps_this_run=*/3);
  ASSERT_TRUE(first_half.ok()) << first_half.status();
  EXPECT_FALSE(first_half->finished);
  EXPECT_EQ(first_half->steps_done, 3);
  auto second_half = RunTraining(Options(TrainStage::kVae, "split", 6));
  ASSERT_TRUE(second_half.ok()) << second_half.status();
  EXPECT_EQ(second_half->start_step, 3);
  ASSERT_EQ(second_half->step_losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(second_half->step_losses[i], straight->step_losses[3 + i]) << "step " << 3 + i;
  }
}

TEST_F(TrainerTest, ResumingWithDifferentOptionsIsRefused) {
  ASSERT_TRUE(RunTraining(Options(TrainStage::kVae, "run", 4), 2).ok());
  TrainOptions changed = Options(TrainStage::kVae, "run", 4);
  changed.batch_size = 2;
  auto resumed = RunTraining(changed);
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(resumed.status().message()), HasSubstr("batch_size"));
}

TEST_F(TrainerTest, ThinAndDenoiserStagesLearnAndMergeIntoAServableCheckpoint) {
  auto vae = RunTraining(Options(TrainStage::kVae, "vae", 10));
  ASSERT_TRUE(vae.ok()) << vae.status();

  TrainOptions thin_options = Options(TrainStage::kThinDecoder, "thin", 30);
  thin_options.init_checkpoint = vae->export_path;
  auto thin = RunTraining(thin_options);
  ASSERT_TRUE(thin.ok()) << thin.status();
  EXPECT_LT(Mean(thin->step_losses, 25, 30), Mean(thin->step_losses, 0, 5));

  TrainOptions denoiser_options = Options(TrainStage::kDenoiser, "denoiser", 40);
  denoiser_options.init_checkpoint = vae->export_path;
  denoiser_options.batch_size = 16;
  auto denoiser = RunTraining(denoiser_options);
  ASSERT_TRUE(denoiser.ok()) << denoiser.status();
  EXPECT_LT(Mean(denoiser->step_losses, 30, 40), 0.9 * Mean(denoiser->step_losses, 0, 5));
  // Its held-out flow-matching loss and every softmax layer's largest attention logit.
  const double heldout_mse = denoiser->evaluation.at("heldout_mse");
  EXPECT_GT(heldout_mse, 0);
  EXPECT_LT(heldout_mse, 4);
  for (int layer = 0; layer < 2; ++layer) {
    const double logit = denoiser->evaluation.at("attention_max_logit_" + std::to_string(layer));
    EXPECT_GT(logit, 0);
    EXPECT_TRUE(std::isfinite(logit));
  }

  MergeOptions merge;
  merge.vae_checkpoint = vae->export_path;
  merge.thin_checkpoint = thin->export_path;
  merge.denoiser_checkpoint = denoiser->export_path;
  merge.output = (root_ / "shipped" / "model.safetensors").string();
  merge.metrics = {{"psnr_db", 12.5}};
  ASSERT_TRUE(MergeCheckpoints(merge).ok());

  auto model = ServeOnCpu((root_ / "shipped").string());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->info().trained);
  EXPECT_DOUBLE_EQ((*model)->info().metrics.at("psnr_db"), 12.5);
  // The denoiser stage measured the latent statistics and the shipped config carries them.
  EXPECT_EQ((*model)->info().config.vae.latent_std.size(), 4u);
  EXPECT_DOUBLE_EQ((*model)->info().config.sampler.stochasticity, 0.0);

  // A re-merge can record tuned sampler settings without touching a weight; settings out
  // of range are refused, naming the key.
  MergeOptions retuned = merge;
  retuned.output = (root_ / "retuned" / "model.safetensors").string();
  retuned.sampler = (*model)->info().config.sampler;
  retuned.sampler->guidance_min_t = 0.3;
  retuned.sampler->stochasticity = 2.0;
  ASSERT_TRUE(MergeCheckpoints(retuned).ok());
  auto retuned_model = ServeOnCpu((root_ / "retuned").string());
  ASSERT_TRUE(retuned_model.ok()) << retuned_model.status();
  EXPECT_DOUBLE_EQ((*retuned_model)->info().config.sampler.guidance_min_t, 0.3);
  EXPECT_DOUBLE_EQ((*retuned_model)->info().config.sampler.stochasticity, 2.0);
  EXPECT_EQ((*retuned_model)->info().denoiser_parameters, (*model)->info().denoiser_parameters);
  retuned.sampler->stochasticity = -1.0;
  EXPECT_THAT(std::string(MergeCheckpoints(retuned).message()),
              HasSubstr("sampler.stochasticity"));

  // The thin stage's encoder is the vae export's; a denoiser trained on another encoder is
  // refused.
  merge.vae_checkpoint = denoiser->export_path;
  merge.thin_checkpoint = thin->export_path;
  TrainOptions other = Options(TrainStage::kVae, "other_vae", 2);
  other.seed = 99;
  auto other_vae = RunTraining(other);
  ASSERT_TRUE(other_vae.ok());
  merge.denoiser_checkpoint = other_vae->export_path;
  absl::Status refused = MergeCheckpoints(merge);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.message()), HasSubstr("same vae export"));
}

TEST_F(TrainerTest, ThinStageCanReshapeTheThinDecoderAndTheMergeKeepsTheShape) {
  auto vae = RunTraining(Options(TrainStage::kVae, "vae", 4));
  ASSERT_TRUE(vae.ok()) << vae.status();
  TrainOptions thin_options = Options(TrainStage::kThinDecoder, "thin3", 20);
  thin_options.init_checkpoint = vae->export_path;
  thin_options.thin_stages = 3;  // the small model narrows 2 by default
  thin_options.thin_width_multiplier = 0.25;
  auto thin = RunTraining(thin_options);
  ASSERT_TRUE(thin.ok()) << thin.status();
  EXPECT_LT(Mean(thin->step_losses, 15, 20), Mean(thin->step_losses, 0, 5));

  MergeOptions merge;
  merge.vae_checkpoint = vae->export_path;
  merge.thin_checkpoint = thin->export_path;
  merge.denoiser_checkpoint = vae->export_path;
  merge.output = (root_ / "merged" / "model.safetensors").string();
  ASSERT_TRUE(MergeCheckpoints(merge).ok());
  auto reshaped = ServeOnCpu((root_ / "merged").string());
  auto original = ServeOnCpu(vae->export_path);
  ASSERT_TRUE(reshaped.ok()) << reshaped.status();
  ASSERT_TRUE(original.ok()) << original.status();
  EXPECT_EQ((*reshaped)->info().config.vae.thin_stages, 3);
  EXPECT_DOUBLE_EQ((*reshaped)->info().config.vae.thin_width_multiplier, 0.25);
  // Every stage narrowed: fewer parameters than the two-stage thin decoder; the rest of the
  // network is the vae export's.
  EXPECT_LT((*reshaped)->info().thin_decoder_parameters,
            (*original)->info().thin_decoder_parameters);
  EXPECT_EQ((*reshaped)->info().vae_parameters, (*original)->info().vae_parameters);

  // Two steps of a thin run of another shape from the vae export, merged and served.
  auto reshape_and_serve = [&](const std::string& name, auto set_shape) {
    TrainOptions options = Options(TrainStage::kThinDecoder, name, 2);
    options.init_checkpoint = vae->export_path;
    set_shape(options);
    auto run = RunTraining(options);
    EXPECT_TRUE(run.ok()) << run.status();
    MergeOptions shaped = merge;
    shaped.thin_checkpoint = run.ok() ? run->export_path : "";
    shaped.output = (root_ / ("merged-" + name) / "model.safetensors").string();
    EXPECT_TRUE(MergeCheckpoints(shaped).ok());
    return ServeOnCpu((root_ / ("merged-" + name)).string());
  };

  // A new output patch: the merge keeps it and the served thin decoder gives full-size clips.
  auto patch_model = reshape_and_serve("patch2", [](TrainOptions& o) { o.thin_output_patch = 2; });
  ASSERT_TRUE(patch_model.ok()) << patch_model.status();
  EXPECT_EQ((*patch_model)->info().config.vae.thin_output_patch, 2);
  EXPECT_EQ((*patch_model)->info().config.vae.thin_stages, 2);  // the vae export's

  // Fewer res blocks at the latents' resolution: the merge keeps the shape, and the served
  // thin decoder is smaller. Asking for all of them (the mid block + blocks_per_stage 1) is
  // no change.
  auto shallow = reshape_and_serve("latent0", [](TrainOptions& o) { o.thin_latent_res_blocks = 0; });
  ASSERT_TRUE(shallow.ok()) << shallow.status();
  EXPECT_EQ((*shallow)->info().config.vae.thin_latent_res_blocks, 0);
  EXPECT_LT((*shallow)->info().thin_decoder_parameters,
            (*original)->info().thin_decoder_parameters);
  auto all = reshape_and_serve("latent-all", [](TrainOptions& o) { o.thin_latent_res_blocks = 2; });
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->info().config.vae.thin_latent_res_blocks, -1);
  EXPECT_EQ((*all)->info().thin_decoder_parameters, (*original)->info().thin_decoder_parameters);

  // The deepest stage upsampling straight to the next stage's width: kept by the merge, and
  // the served thin decoder is smaller (a narrower convolution, no skip projection).
  auto to_next = reshape_and_serve("up1", [](TrainOptions& o) { o.thin_upsample_to_next_width = 1; });
  ASSERT_TRUE(to_next.ok()) << to_next.status();
  EXPECT_EQ((*to_next)->info().config.vae.thin_upsample_to_next_width, 1);
  EXPECT_LT((*to_next)->info().thin_decoder_parameters,
            (*original)->info().thin_decoder_parameters);

  // Only the thin stage reshapes the thin decoder.
  TrainOptions wrong_stage = Options(TrainStage::kVae, "vae3", 2);
  wrong_stage.thin_stages = 3;
  auto refused = RunTraining(wrong_stage);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("only the thin stage"));
  TrainOptions wrong_blocks = Options(TrainStage::kVae, "vae-latent0", 2);
  wrong_blocks.thin_latent_res_blocks = 0;
  auto refused_blocks = RunTraining(wrong_blocks);
  ASSERT_FALSE(refused_blocks.ok());
  EXPECT_THAT(std::string(refused_blocks.status().message()), HasSubstr("only the thin stage"));
  TrainOptions wrong_up = Options(TrainStage::kVae, "vae-up1", 2);
  wrong_up.thin_upsample_to_next_width = 1;
  auto refused_up = RunTraining(wrong_up);
  ASSERT_FALSE(refused_up.ok());
  EXPECT_THAT(std::string(refused_up.status().message()), HasSubstr("only the thin stage"));
}

TEST_F(TrainerTest, FrozenEncoderVaeRunTrainsOnlyTheDecoder) {
  auto vae = RunTraining(Options(TrainStage::kVae, "vae", 4));
  ASSERT_TRUE(vae.ok()) << vae.status();
  TrainOptions decoder_only = Options(TrainStage::kVae, "decoder", 6);
  decoder_only.init_checkpoint = vae->export_path;
  decoder_only.freeze_encoder = true;
  auto tuned = RunTraining(decoder_only);
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  auto before = LoadVideoNetwork(vae->export_path);
  auto after = LoadVideoNetwork(tuned->export_path);
  ASSERT_TRUE(before.ok() && after.ok());
  ExpectSameTensors(*before->network->encoder, *after->network->encoder);
  const auto decoder_before = ModuleStateDict(*before->network->decoder);
  const auto decoder_after = ModuleStateDict(*after->network->decoder);
  int changed = 0;
  for (size_t i = 0; i < decoder_before.size(); ++i) {
    changed += !torch::equal(decoder_before[i].second, decoder_after[i].second);
  }
  EXPECT_GT(changed, 0);

  // The decoder-only export merges with stages trained from the original vae export.
  MergeOptions merge;
  merge.vae_checkpoint = tuned->export_path;
  merge.thin_checkpoint = vae->export_path;
  merge.denoiser_checkpoint = vae->export_path;
  merge.output = (root_ / "merged" / "model.safetensors").string();
  EXPECT_TRUE(MergeCheckpoints(merge).ok());

  TrainOptions fresh = Options(TrainStage::kVae, "fresh", 2);
  fresh.freeze_encoder = true;  // no init checkpoint: nothing to keep
  auto refused = RunTraining(fresh);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("freeze_encoder"));
}

TEST_F(TrainerTest, LatentStatisticsStayWithTheDenoiserTheyWereMeasuredFor) {
  auto vae = RunTraining(Options(TrainStage::kVae, "vae", 2));
  ASSERT_TRUE(vae.ok()) << vae.status();
  const auto statistics = [](const std::string& checkpoint) {
    auto loaded = LoadVideoNetwork(checkpoint);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    const VaeConfig& c = loaded->config.vae;
    std::vector<double> both = c.latent_mean;
    both.insert(both.end(), c.latent_std.begin(), c.latent_std.end());
    return both;
  };
  EXPECT_TRUE(statistics(vae->export_path).empty());

  // A fresh denoiser measures them on its cache (clips from 0).
  TrainOptions first = Options(TrainStage::kDenoiser, "den", 2);
  first.init_checkpoint = vae->export_path;
  auto den = RunTraining(first);
  ASSERT_TRUE(den.ok()) << den.status();
  const std::vector<double> measured = statistics(den->export_path);
  ASSERT_EQ(measured.size(), 8u);

  // Continuing it on other clips keeps them, bit for bit...
  TrainOptions next = Options(TrainStage::kDenoiser, "den-next", 2);
  next.init_checkpoint = den->export_path;
  next.data.first_clip = 5000;
  auto continued = RunTraining(next);
  ASSERT_TRUE(continued.ok()) << continued.status();
  EXPECT_EQ(statistics(continued->export_path), measured);

  // ...unless asked to measure them again, which those clips' latents move.
  next.run_dir = (root_ / "den-remeasured").string();
  next.remeasure_latent_statistics = true;
  auto remeasured = RunTraining(next);
  ASSERT_TRUE(remeasured.ok()) << remeasured.status();
  const std::vector<double> again = statistics(remeasured->export_path);
  ASSERT_EQ(again.size(), 8u);
  EXPECT_NE(again, measured);

  // A new mixer is a fresh denoiser: measured, from the same clips as the first run.
  TrainOptions other_mixer = Options(TrainStage::kDenoiser, "den-loglinear", 2);
  other_mixer.init_checkpoint = den->export_path;
  other_mixer.mixer = "loglinear";
  auto fresh = RunTraining(other_mixer);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  const std::vector<double> fresh_statistics = statistics(fresh->export_path);
  ASSERT_EQ(fresh_statistics.size(), 8u);
  for (size_t i = 0; i < measured.size(); ++i) EXPECT_NEAR(fresh_statistics[i], measured[i], 1e-6);

  // Training the encoder makes them stale: the vae export drops them. A frozen encoder keeps them.
  TrainOptions encoder = Options(TrainStage::kVae, "vae-again", 1);
  encoder.init_checkpoint = den->export_path;
  auto retrained = RunTraining(encoder);
  ASSERT_TRUE(retrained.ok()) << retrained.status();
  EXPECT_TRUE(statistics(retrained->export_path).empty());
  encoder.run_dir = (root_ / "vae-frozen").string();
  encoder.freeze_encoder = true;
  auto frozen = RunTraining(encoder);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  EXPECT_EQ(statistics(frozen->export_path), measured);

  TrainOptions wrong_stage = Options(TrainStage::kVae, "vae-remeasure", 1);
  wrong_stage.remeasure_latent_statistics = true;
  auto refused = RunTraining(wrong_stage);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("remeasure_latent_statistics"));
}

// A VAE run on single 16x16 frames, one per step: the fastest run that still trains.
TrainOptions SingleFrameVaeOptions(TrainOptions o, int64_t warmup_steps) {
  o.batch_size = 1;
  o.data.frames = 1;
  o.data.height = 16;
  o.data.width = 16;
  o.optimizer.warmup_steps = warmup_steps;
  return o;
}

TEST_F(TrainerTest, ZeroStepsFitsTheScheduleToTheTimeBudget) {
  TrainOptions o = SingleFrameVaeOptions(Options(TrainStage::kVae, "auto", 0), 40);
  o.time_budget_minutes = 0.1;  // 6 s
  // One intra-op thread: with LibTorch's default (every core) in each of several test
  // processes side by side (ctest -j8 on a 16-core machine), oversubscribed threads made
  // the first 40 steps outlast the 6 s budget.
  o.threads = 1;
  auto summary = RunTraining(o);
  ASSERT_TRUE(summary.ok()) << summary.status();
  // The schedule was fitted after step 40 and the run ended by it or by the budget.
  EXPECT_GT(summary->total_steps, kAutoStepsMeasureEnd);
  EXPECT_LT(summary->total_steps, int64_t{1} << 30);
  EXPECT_GE(summary->steps_done, kAutoStepsMeasureEnd);
  EXPECT_LT(summary->run_seconds, 30.0);
  EXPECT_EQ(summary->fitted_total_steps.size(), 1u);  // warm-up ends where the first fit is
}

TEST_F(TrainerTest, ZeroStepsRefitsTheScheduleAtTheEndOfWarmUp) {
  TrainOptions o = SingleFrameVaeOptions(Options(TrainStage::kVae, "auto", 0), 80);
  o.time_budget_minutes = 10;  // not reached: the run stops after 90 steps
  auto summary = RunTraining(o, /*max_steps_this_run=*/90);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->steps_done, 90);
  // Fitted at step 40, refitted at step 80 from the rate over steps 40-80; the schedule
  // the run followed is the refit one.
  ASSERT_EQ(summary->fitted_total_steps.size(), 2u);
  EXPECT_GT(summary->fitted_total_steps[1], 80);
  EXPECT_EQ(summary->total_steps, summary->fitted_total_steps[1]);
}

// A learning rate warmed up far past what the model takes: the loss falls at first, then
// blows up. The guard stops the run and exports the EMA weights of its last healthy window,
// exactly those an unguarded run has at that step.
TEST_F(TrainerTest, ADivergingRunStopsAndExportsTheLastHealthyEmaWeights) {
  TrainOptions o = SingleFrameVaeOptions(Options(TrainStage::kVae, "diverging", 300), 300);
  o.optimizer.learning_rate = 0.9;
  o.optimizer.grad_clip_norm = 0;
  o.divergence.window = 5;
  auto guarded = RunTraining(o);
  ASSERT_TRUE(guarded.ok()) << guarded.status();
  ASSERT_TRUE(guarded->diverged_at_step.has_value()) << "the loss never diverged";
  const int64_t stopped = *guarded->diverged_at_step;
  EXPECT_LT(stopped, 300);
  EXPECT_FALSE(guarded->finished);
  EXPECT_EQ(guarded->steps_done, stopped);
  EXPECT_EQ(stopped % 5, 0);
  const int64_t fallback = guarded->exported_ema_step;
  EXPECT_GT(fallback, 0);
  EXPECT_LT(fallback, stopped);
  EXPECT_EQ(fallback % 5, 0);
  // The window that tripped it averaged over twice the best window.
  const auto& losses = guarded->step_losses;
  double best = 1e300;
  for (size_t w = 0; w + 5 <= losses.size() - 5; w += 5) best = std::min(best, Mean(losses, w, w + 5));
  EXPECT_GT(Mean(losses, losses.size() - 5, losses.size()), 2 * best);
  // No resumable state was saved past the blow-up, and the summary says what happened.
  EXPECT_FALSE(fs::exists(root_ / "diverging" / "state" / "trainer.json"));
  std::ifstream summary_file(root_ / "diverging" / "summary.json");
  const std::string summary_text((std::istreambuf_iterator<char>(summary_file)),
                                 std::istreambuf_iterator<char>());
  EXPECT_THAT(summary_text, HasSubstr("\"diverged_at_step\": " + std::to_string(stopped)));

  // The same run without the guard, stopped at the fallback step, exports the same weights.
  TrainOptions unguarded = o;
  unguarded.run_dir = (root_ / "unguarded").string();
  unguarded.divergence.stop_factor = 0;
  auto reference = RunTraining(unguarded, /*max_steps_this_run=*/fallback);
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto a = LoadVideoNetwork(guarded->export_path);
  auto b = LoadVideoNetwork(reference->export_path);
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameTensors(*a->network->decoder, *b->network->decoder);
}

TEST_F(TrainerTest, LaterStagesNeedAnInitCheckpoint) {
  auto result = RunTraining(Options(TrainStage::kDenoiser, "d", 2));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("init_checkpoint"));
}

}  // namespace
}  // namespace vidserve::train

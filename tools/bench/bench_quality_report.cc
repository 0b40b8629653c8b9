#include "tools/bench/bench_quality_report.h"

#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "data/clip_attributes.h"
#include "eval/paired_comparison.h"

namespace vidserve::bench {
namespace {

const char* TextureName(data::Texture texture) {
  switch (texture) {
    case data::Texture::kSolid:
      return "solid";
    case data::Texture::kStripes:
      return "stripes";
    case data::Texture::kChecker:
      return "checker";
    case data::Texture::kNoise:
      return "noise";
  }
  return "?";
}

nlohmann::json AccuracyJson(const eval::Accuracy& accuracy) {
  return {{"percent", accuracy.Percent()},  // NaN (nothing scored) dumps as null
          {"correct", accuracy.correct},
          {"scored", accuracy.scored}};
}

nlohmann::json ConsistencyJson(const data::TemporalConsistency& c) {
  return {{"score", c.score},
          {"mean_abs_frame_difference", c.mean_abs_frame_difference},
          {"brightness_flicker", c.brightness_flicker}};
}

nlohmann::json SummaryJson(const eval::ReconstructionSummary& s) {
  return {{"clips", s.clips},
          {"full", {{"psnr_db", s.full.psnr_db}, {"ssim", s.full.ssim}}},
          {"thin", {{"psnr_db", s.thin.psnr_db}, {"ssim", s.thin.ssim}}},
          {"psnr_loss_db", s.PsnrLossDb()},
          {"ssim_loss", s.SsimLoss()}};
}

nlohmann::json OptionalBool(const std::optional<bool>& value) {
  return value.has_value() ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string PercentText(const eval::Accuracy& accuracy) {
  if (accuracy.scored == 0) return "n/a";
  char text[48];
  std::snprintf(text, sizeof(text), "%.1f%% (%d/%d)", accuracy.Percent(), accuracy.correct,
                accuracy.scored);
  return text;
}

nlohmann::json TallyJson(const eval::PromptFollowingTally& tally) {
  return {{"clips", tally.clips()},
          {"colour", AccuracyJson(tally.colour())},
          {"shape", AccuracyJson(tally.shape())},
          {"motion", AccuracyJson(tally.motion())},
          {"all_named", AccuracyJson(tally.all_named())},
          {"shape_confusion", tally.shape_confusion()},
          {"motion_confusion", tally.motion_confusion()},
          {"temporal_consistency", ConsistencyJson(tally.MeanConsistency())}};
}

nlohmann::json ShapeOrNull(const std::optional<data::Shape>& shape) {
  return shape ? nlohmann::json(std::string(data::ShapeName(*shape))) : nlohmann::json(nullptr);
}

nlohmann::json MotionOrNull(const std::optional<data::Motion>& motion) {
  return motion ? nlohmann::json(std::string(data::MotionPhrase(*motion)))
                : nlohmann::json(nullptr);
}

nlohmann::json CheckpointJson(const CheckpointResult& r, const QualitySettings& settings,
                              DecoderKind decoder, const std::vector<HeldOutClip>& held_out) {
  const ModelInfo& info = r.info;
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : info.metrics) metrics[name] = value;
  nlohmann::json by_texture = nlohmann::json::object();
  for (data::Texture texture : data::kAllTextures) {
    by_texture[TextureName(texture)] = SummaryJson(r.reconstruction.ForTexture(texture));
  }
  nlohmann::json samples = nlohmann::json::array();
  for (const GeneratedSample& s : r.samples) {
    // "detected": the most salient object; "judged": what the object the prompt's subject
    // was scored on showed (the first object of the subject's colour, else the most salient).
    nlohmann::json detected = nullptr;
    if (s.detection.found()) {
      const data::DetectedObject& o = s.detection.objects.front();
      detected = {{"colour", std::string(data::ColourName(o.colour))},
                  {"shape", o.shape ? std::string(data::ShapeName(*o.shape)) : "none"},
                  {"motion", std::string(data::MotionPhrase(o.motion))},
                  {"objects", s.detection.objects.size()}};
    }
    samples.push_back({{"index", s.index},
                       {"held_out_seed", held_out[s.index].seed},
                       {"generation_seed", s.seed},
                       {"prompt", held_out[s.index].caption},
                       {"detected", detected},
                       {"judged",
                        {{"shape", ShapeOrNull(s.score.judged_shape)},
                         {"motion", MotionOrNull(s.score.judged_motion)}}},
                       {"colour_correct", OptionalBool(s.score.colour_correct)},
                       {"shape_correct", OptionalBool(s.score.shape_correct)},
                       {"motion_correct", OptionalBool(s.score.motion_correct)},
                       {"temporal_consistency", s.consistency.score}});
  }
  const eval::ReconstructionSummary overall = r.reconstruction.Overall();
  nlohmann::json reconstruction = SummaryJson(overall);
  reconstruction["by_texture"] = by_texture;
  reconstruction["seconds"] = r.reconstruction_seconds;
  nlohmann::json prompt_following = TallyJson(r.prompt_following);
  prompt_following["shape_radial_rule"] = AccuracyJson(r.shape_radial_rule);
  nlohmann::json reconstruction_detection = TallyJson(r.reconstruction_detection);
  reconstruction_detection["shape_radial_rule"] = AccuracyJson(r.reconstruction_shape_radial_rule);
  prompt_following["decoder"] = DecoderKindName(decoder);
  prompt_following["steps"] = settings.steps;
  prompt_following["guidance"] = r.guidance;
  const SamplerConfig& sampler = info.config.sampler;
  prompt_following["sampler"] = {{"timestep_shift", sampler.timestep_shift},
                                 {"guidance_min_t", sampler.guidance_min_t},
                                 {"guidance_max_t", sampler.guidance_max_t},
                                 {"stochasticity", sampler.stochasticity}};
  prompt_following["generation_batch"] = settings.generation_batch;
  prompt_following["seconds"] = r.generation_seconds;
  prompt_following["samples"] = samples;
  return {{"checkpoint", info.checkpoint},
          {"label", r.label},
          {"trained", info.trained},
          {"model_name", info.config.name},
          {"preset", info.config.preset},
          {"device", info.device},
          {"mixers", info.config.denoiser.mixers},
          {"parameters",
           {{"vae", info.vae_parameters},
            {"thin_decoder", info.thin_decoder_parameters},
            {"denoiser", info.denoiser_parameters}}},
          {"checkpoint_metrics", metrics},
          {"reconstruction", reconstruction},
          {"reconstruction_detection", reconstruction_detection},
          {"decode_timing",
           {{"batch", r.timing.batch},
            {"repeats", r.timing.repeats},
            {"full_ms", r.timing.full_ms},
            {"thin_ms", r.timing.thin_ms},
            {"thin_speedup", r.timing.full_ms / r.timing.thin_ms},
            {"cuda_graph_decode", info.cuda_graph_decode},
            {"decode_precision", DecodePrecisionName(info.decode_precision)},
            {"thin_psnr_loss_db", overall.PsnrLossDb()}}},
          {"prompt_following", prompt_following}};
}

void PrintCheckpoint(const CheckpointResult& r, const QualitySettings& settings,
                     DecoderKind decoder, const eval::PromptFollowingTally& ground_truth) {
  const ModelInfo& info = r.info;
  std::printf(
      "  trained=%s  mixers=%s  parameters: VAE %.2fM, thin decoder %.2fM, denoiser+text %.2fM\n",
      info.trained ? "yes" : "NO (random weights)",
      absl::StrJoin(info.config.denoiser.mixers, ",").c_str(), info.vae_parameters / 1e6,
      info.thin_decoder_parameters / 1e6, info.denoiser_parameters / 1e6);
  std::printf("  VAE reconstruction of %d held-out clips (%.1f s):\n", settings.vae_clips,
              r.reconstruction_seconds);
  std::printf("    %-9s %6s %10s %8s %10s %8s %12s\n", "texture", "clips", "full dB", "full SSIM",
              "thin dB", "thin SSIM", "thin loss dB");
  auto row = [](const char* name, const eval::ReconstructionSummary& s) {
    if (s.clips == 0) {
      std::printf("    %-9s %6d %10s %8s %10s %8s %12s\n", name, 0, "-", "-", "-", "-", "-");
      return;
    }
    std::printf("    %-9s %6d %10.2f %9.4f %10.2f %9.4f %12.2f\n", name, s.clips, s.full.psnr_db,
                s.full.ssim, s.thin.psnr_db, s.thin.ssim, s.PsnrLossDb());
  };
  row("all", r.reconstruction.Overall());
  for (data::Texture texture : data::kAllTextures) {
    row(TextureName(texture), r.reconstruction.ForTexture(texture));
  }
  std::printf(
      "    detector on the full reconstructions: colour %s  shape %s  motion %s (shape by the "
      "radial rule %s)\n",
      PercentText(r.reconstruction_detection.colour()).c_str(),
      PercentText(r.reconstruction_detection.shape()).c_str(),
      PercentText(r.reconstruction_detection.motion()).c_str(),
      PercentText(r.reconstruction_shape_radial_rule).c_str());
  std::printf(
      "  decode, batch of %d latents, median of %d: full %.1f ms, thin %.1f ms -> thin %.2fx "
      "faster; PSNR full - thin %+.2f dB\n",
      r.timing.batch, r.timing.repeats, r.timing.full_ms, r.timing.thin_ms,
      r.timing.full_ms / r.timing.thin_ms, r.reconstruction.Overall().PsnrLossDb());
  const data::TemporalConsistency generated = r.prompt_following.MeanConsistency();
  const data::TemporalConsistency truth = ground_truth.MeanConsistency();
  std::printf(
      "  prompt following, %d held-out captions, %d steps, guidance %.2f for t in [%.2f, %.2f], "
      "stochasticity %.2f, shift %.2f, %s decoder (%.1f s):\n",
      settings.prompts, settings.steps, r.guidance, r.info.config.sampler.guidance_min_t,
      r.info.config.sampler.guidance_max_t, r.info.config.sampler.stochasticity,
      r.info.config.sampler.timestep_shift, DecoderKindName(decoder), r.generation_seconds);
  std::printf("    colour %s  shape %s  motion %s  all named %s\n",
              PercentText(r.prompt_following.colour()).c_str(),
              PercentText(r.prompt_following.shape()).c_str(),
              PercentText(r.prompt_following.motion()).c_str(),
              PercentText(r.prompt_following.all_named()).c_str());
  std::printf("    shape by the detector's rule before 2026-11-28 (radial spread): %s\n",
              PercentText(r.shape_radial_rule).c_str());
  std::printf(
      "    temporal consistency %.4f (ground truth %.4f), brightness flicker %.4f (ground truth "
      "%.4f)\n",
      generated.score, truth.score, generated.brightness_flicker, truth.brightness_flicker);
}

namespace {

// One attribute's per-clip outcomes, in prompt order.
std::vector<std::optional<bool>> Outcomes(const CheckpointResult& r,
                                          std::optional<bool> data::ClipScore::*attribute) {
  std::vector<std::optional<bool>> outcomes;
  for (const GeneratedSample& sample : r.samples) outcomes.push_back(sample.score.*attribute);
  return outcomes;
}

struct NamedAttribute {
  const char* name;
  std::optional<bool> data::ClipScore::*field;
};
constexpr NamedAttribute kAttributes[] = {{"colour", &data::ClipScore::colour_correct},
                                          {"shape", &data::ClipScore::shape_correct},
                                          {"motion", &data::ClipScore::motion_correct}};

// Colour, shape and motion of `candidate` against `baseline`, clip by clip, in that order.
std::vector<std::pair<const char*, eval::PairedComparison>> PairAttributes(
    const CheckpointResult& baseline, const CheckpointResult& candidate) {
  std::vector<std::pair<const char*, eval::PairedComparison>> paired;
  for (const NamedAttribute& attribute : kAttributes) {
    paired.emplace_back(attribute.name, eval::ComparePaired(Outcomes(baseline, attribute.field),
                                                            Outcomes(candidate, attribute.field)));
  }
  return paired;
}

}  // namespace

nlohmann::json PairedJson(const CheckpointResult& baseline, const CheckpointResult& candidate) {
  nlohmann::json paired = nlohmann::json::object();
  for (const auto& [name, c] : PairAttributes(baseline, candidate)) {
    paired[name] = {{"gained", c.gained},         {"lost", c.lost},
                    {"both_right", c.both_right}, {"both_wrong", c.both_wrong},
                    {"net", c.net()},             {"p_value", c.p_value}};
  }
  return paired;
}

void PrintComparison(const std::vector<CheckpointResult>& results) {
  std::printf(
      "\ncomparison (PSNR in dB; S = SSIM; thin x = thin decoder speed-up; accuracies in %%; "
      "TC = temporal consistency of generated clips; gen s = wall time of the generations)\n");
  std::printf("%-3s %-22s %-7s %14s %8s %8s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n", "#",
              "mixers", "trained", "denoiser params", "full dB", "thin dB", "full S", "thin S",
              "thin x", "colour", "shape", "motion", "all", "TC", "gen s");
  for (size_t i = 0; i < results.size(); ++i) {
    const CheckpointResult& r = results[i];
    const eval::ReconstructionSummary overall = r.reconstruction.Overall();
    std::printf(
        "%-3zu %-22s %-7s %14ld %8.2f %8.2f %7.4f %7.4f %6.2fx %7.1f %7.1f %7.1f %7.1f %7.4f "
        "%7.1f\n",
        i + 1, absl::StrJoin(r.info.config.denoiser.mixers, ",").c_str(),
        r.info.trained ? "yes" : "no", r.info.denoiser_parameters, overall.full.psnr_db,
        overall.thin.psnr_db, overall.full.ssim, overall.thin.ssim,
        r.timing.full_ms / r.timing.thin_ms, r.prompt_following.colour().Percent(),
        r.prompt_following.shape().Percent(), r.prompt_following.motion().Percent(),
        r.prompt_following.all_named().Percent(), r.prompt_following.MeanConsistency().score,
        r.generation_seconds);
  }
  for (size_t i = 0; i < results.size(); ++i) {
    std::printf("  #%zu = %s\n", i + 1, results[i].label.c_str());
  }
  // Same prompts and seeds for every checkpoint, so each clip pairs with #1's.
  for (size_t i = 1; i < results.size(); ++i) {
    std::printf("#%zu vs #1, clip by clip (gained / lost = right only in #%zu / only in #1; exact "
                "McNemar p):\n",
                i + 1, i + 1);
    for (const auto& [name, c] : PairAttributes(results[0], results[i])) {
      std::printf("  %-7s net %+4d  (gained %d, lost %d)  p = %.3g\n", name, c.net(), c.gained,
                  c.lost, c.p_value);
    }
  }
}

}  // namespace vidserve::bench

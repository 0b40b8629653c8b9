#include "train/train_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace vidserve::train {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule, double got) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule, ", got ", got));
}

}  // namespace

absl::StatusOr<TrainStage> ParseTrainStage(absl::string_view name) {
  if (name == "vae") return TrainStage::kVae;
  if (name == "thin") return TrainStage::kThinDecoder;
  if (name == "denoiser") return TrainStage::kDenoiser;
  return absl::InvalidArgumentError(
      absl::StrCat("stage: must be vae, thin or denoiser, got '", name, "'"));
}

const char* TrainStageName(TrainStage stage) {
  switch (stage) {
    case TrainStage::kVae: return "vae";
    case TrainStage::kThinDecoder: return "thin";
    case TrainStage::kDenoiser: return "denoiser";
  }
  return "?";
}

absl::Status ValidateTrainOptions(const TrainOptions& o) {
  if (o.run_dir.empty()) return absl::InvalidArgumentError("run_dir: must be set");
  if (o.stage != TrainStage::kVae && o.init_checkpoint.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "init_checkpoint: the ", TrainStageName(o.stage),
        " stage starts from the previous stage's export; pass --init_checkpoint"));
  }
  if (!o.mixer.empty() && o.mixer != "softmax" && o.mixer != "loglinear" && o.mixer != "mesa") {
    return absl::InvalidArgumentError(
        absl::StrCat("mixer: must be softmax, loglinear or mesa, got '", o.mixer, "'"));
  }
  if (o.freeze_encoder && (o.stage != TrainStage::kVae || o.init_checkpoint.empty())) {
    return absl::InvalidArgumentError(
        "freeze_encoder: only for the vae stage started from an init_checkpoint (the encoder "
        "it keeps)");
  }
  if (o.remeasure_latent_statistics && o.stage != TrainStage::kDenoiser) {
    return absl::InvalidArgumentError(
        "remeasure_latent_statistics: only for the denoiser stage (the stage that measures them)");
  }
  if (o.stage != TrainStage::kThinDecoder &&
      (o.thin_stages != -1 || o.thin_width_multiplier != 0 || o.thin_output_patch != 0 ||
       o.thin_latent_res_blocks != -1 || o.thin_upsample_to_next_width != -1)) {
    return absl::InvalidArgumentError(
        "thin_stages / thin_width_multiplier / thin_output_patch / thin_latent_res_blocks / "
        "thin_upsample_to_next_width: only the thin stage reshapes the thin decoder");
  }
  if (o.thin_upsample_to_next_width < -1 || o.thin_upsample_to_next_width > 2) {
    return Invalid("thin_upsample_to_next_width", "must be in [0, 2], or -1 to keep",
                   o.thin_upsample_to_next_width);
  }
  if (o.thin_latent_res_blocks < -1) {
    return Invalid("thin_latent_res_blocks", "must be >= 0, or -1 to keep",
                   o.thin_latent_res_blocks);
  }
  if (o.thin_output_patch != 0 && o.thin_output_patch != 1 && o.thin_output_patch != 2 &&
      o.thin_output_patch != 4) {
    return Invalid("thin_output_patch", "must be 1, 2 or 4, or 0 to keep", o.thin_output_patch);
  }
  if (o.thin_stages < -1) return Invalid("thin_stages", "must be >= 0, or -1 to keep", o.thin_stages);
  if (!(o.thin_width_multiplier >= 0 && o.thin_width_multiplier <= 1)) {
    return Invalid("thin_width_multiplier", "must be in (0, 1], or 0 to keep",
                   o.thin_width_multiplier);
  }
  if (o.threads < 0) return Invalid("threads", "must be >= 0", o.threads);
  if (o.steps < 0) return Invalid("steps", "must be >= 1, or 0 to fit the time budget", o.steps);
  if (o.steps == 0 && o.time_budget_minutes <= 0) {
    return absl::InvalidArgumentError("steps: 0 (fit to the time budget) needs time_budget_minutes > 0");
  }
  if (o.steps == 0 && o.optimizer.warmup_steps < kAutoStepsMeasureEnd) {
    return Invalid("warmup_steps", "must be >= 40 when steps is 0 (the rate is measured during warm-up)",
                   o.optimizer.warmup_steps);
  }
  if (!(o.time_budget_minutes >= 0)) {
    return Invalid("time_budget_minutes", "must be >= 0", o.time_budget_minutes);
  }
  if (o.batch_size < 1 || o.batch_size > 4096) {
    return Invalid("batch_size", "must be in [1, 4096]", o.batch_size);
  }
  if (!(o.caption_dropout >= 0 && o.caption_dropout <= 1)) {
    return Invalid("caption_dropout", "must be in [0, 1]", o.caption_dropout);
  }
  if (o.log_every < 1) return Invalid("log_every", "must be >= 1", o.log_every);
  if (o.save_every < 1) return Invalid("save_every", "must be >= 1", o.save_every);
  if (absl::Status s = ValidateDivergenceGuardOptions(o.divergence); !s.ok()) return s;
  const OptimizerOptions& opt = o.optimizer;
  if (!(opt.learning_rate > 0 && opt.learning_rate < 1)) {
    return Invalid("learning_rate", "must be in (0, 1)", opt.learning_rate);
  }
  if (!(opt.min_learning_rate_ratio >= 0 && opt.min_learning_rate_ratio <= 1)) {
    return Invalid("min_learning_rate_ratio", "must be in [0, 1]", opt.min_learning_rate_ratio);
  }
  if (opt.warmup_steps < 0) return Invalid("warmup_steps", "must be >= 0", opt.warmup_steps);
  if (!(opt.weight_decay >= 0)) return Invalid("weight_decay", "must be >= 0", opt.weight_decay);
  if (!(opt.beta1 >= 0 && opt.beta1 < 1)) return Invalid("beta1", "must be in [0, 1)", opt.beta1);
  if (!(opt.beta2 >= 0 && opt.beta2 < 1)) return Invalid("beta2", "must be in [0, 1)", opt.beta2);
  if (!std::isfinite(opt.grad_clip_norm)) {
    return Invalid("grad_clip_norm", "must be finite", opt.grad_clip_norm);
  }
  if (!(opt.ema_decay >= 0 && opt.ema_decay < 1)) {
    return Invalid("ema_decay", "must be in [0, 1)", opt.ema_decay);
  }
  const LossWeights& w = o.loss;
  for (const auto& [name, value] :
       {std::pair<const char*, double>{"loss_l1", w.l1}, {"loss_ssim", w.ssim},
        {"loss_gradient", w.gradient}, {"loss_kl", w.kl}, {"loss_distill", w.distill},
        {"loss_thin_reconstruction", w.thin_reconstruction}}) {
    if (!(value >= 0 && std::isfinite(value))) return Invalid(name, "must be >= 0", value);
  }
  const DataOptions& d = o.data;
  if (d.frames < 1 || (d.frames - 1) % 4 != 0 || d.frames > 257) {
    return Invalid("frames", "must be 4k+1 in [1, 257]", d.frames);
  }
  if (d.height < 16 || d.height % 16 != 0 || d.height > 1024) {
    return Invalid("height", "must be a multiple of 16 in [16, 1024]", d.height);
  }
  if (d.width < 16 || d.width % 16 != 0 || d.width > 1024) {
    return Invalid("width", "must be a multiple of 16 in [16, 1024]", d.width);
  }
  if (d.loader_threads < 1 || d.loader_threads > 256) {
    return Invalid("loader_threads", "must be in [1, 256]", d.loader_threads);
  }
  if (d.latent_cache_clips < 0) {
    return Invalid("latent_cache_clips", "must be >= 0", d.latent_cache_clips);
  }
  // TrainSeed moves held-out seeds up by 2^40; keeping offsets below 2^39 keeps them apart.
  if (d.first_clip < 0 || d.first_clip > (int64_t{1} << 39)) {
    return Invalid("first_clip", "must be in [0, 2^39]", d.first_clip);
  }
  if (d.clip_folder.empty() && o.stage == TrainStage::kDenoiser && d.latent_cache_clips == 0) {
    return absl::InvalidArgumentError(
        "latent_cache_clips: synthetic data is endless; give a number of clips (> 0)");
  }
  return absl::OkStatus();
}

}  // namespace vidserve::train

#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model/checkpoint.h"
#include "model/device.h"
#include "model/status_macros.h"
#include "model/video_model.h"
#include "model/video_network.h"
#include "train/divergence_guard.h"
#include "train/loss_log.h"
#include "train/lr_schedule.h"
#include "train/parameter_ema.h"
#include "train/training_stage.h"
#include "train/training_state.h"

namespace vidserve::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::StatusOr<ModelConfig> ConfigFromName(const std::string& name) {
  if (absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml")) {
    return LoadModelConfigFile(name);
  }
  return LoadPreset(name);
}

struct StageNetwork {
  ModelConfig config;
  VideoNetwork network{nullptr};
  bool resumed = false;
};

// Resumes from run_dir/state, or builds a fresh network from the config / init checkpoint.
absl::StatusOr<StageNetwork> BuildStageNetwork(const TrainOptions& options) {
  StageNetwork out;
  const TrainingState state(options.run_dir);
  if (state.exists()) {
    VIDSERVE_ASSIGN_OR_RETURN(LoadedVideoNetwork loaded, LoadVideoNetwork(state.network_path()));
    out.config = loaded.config;
    out.network = loaded.network;
    out.resumed = true;
    return out;
  }
  LoadedVideoNetwork init;
  if (!options.init_checkpoint.empty()) {
    VIDSERVE_ASSIGN_OR_RETURN(init, LoadVideoNetwork(options.init_checkpoint));
    out.config = init.config;
  } else {
    VIDSERVE_ASSIGN_OR_RETURN(out.config, ConfigFromName(options.config));
  }
  bool fresh_denoiser = false, fresh_thin = false;
  if (options.stage == TrainStage::kThinDecoder) {
    VaeConfig& vae = out.config.vae;
    if (options.thin_stages >= 0 && options.thin_stages != vae.thin_stages) {
      vae.thin_stages = options.thin_stages;
      fresh_thin = true;
    }
    if (options.thin_width_multiplier > 0 &&
        options.thin_width_multiplier != vae.thin_width_multiplier) {
      vae.thin_width_multiplier = options.thin_width_multiplier;
      fresh_thin = true;
    }
    if (options.thin_output_patch > 0 && options.thin_output_patch != vae.thin_output_patch) {
      vae.thin_output_patch = options.thin_output_patch;
      fresh_thin = true;
    }
    if (options.thin_latent_res_blocks >= 0) {
      // As many as the decoder has is "all" (-1), so the unchanged shape stays unchanged.
      const int64_t blocks = options.thin_latent_res_blocks >= 1 + vae.blocks_per_stage
                                 ? -1
                                 : options.thin_latent_res_blocks;
      if (blocks != vae.thin_latent_res_blocks) {
        vae.thin_latent_res_blocks = blocks;
        fresh_thin = true;
      }
    }
    if (options.thin_upsample_to_next_width >= 0 &&
        options.thin_upsample_to_next_width != vae.thin_upsample_to_next_width) {
      vae.thin_upsample_to_next_width = options.thin_upsample_to_next_width;
      fresh_thin = true;
    }
  }
  // The latent statistics (the denoiser's input scale) belong to an encoder and to the
  // denoiser trained with them. A vae run that trains the encoder makes them stale, so its
  // export has none. A denoiser run measures them from its latent cache when it starts a
  // fresh denoiser, when the init has none, or when asked; a continued denoiser keeps the
  // ones it was trained with (its encoder is the init's, which is theirs: the merge refuses
  // a denoiser of another encoder). Re-measuring on 60-80k new clips each round shifted
  // them by under 1% of a standard deviation, but shifted every input nonetheless.
  bool clear_statistics = options.stage == TrainStage::kVae && !options.freeze_encoder;
  if (options.stage == TrainStage::kDenoiser) {
    if (!options.mixer.empty() &&
        out.config.denoiser.mixers != std::vector<std::string>{options.mixer}) {
      out.config.denoiser.mixers = {options.mixer};
      fresh_denoiser = true;
    }
    clear_statistics = fresh_denoiser || options.remeasure_latent_statistics;
  }
  if (clear_statistics) {
    out.config.vae.latent_mean.clear();
    out.config.vae.latent_std.clear();
  }
  VIDSERVE_ASSIGN_OR_RETURN(out.network,
                            BuildVideoNetwork(out.config, options.seed, /*adaln_zero_init=*/true));
  if (init.network) {
    const std::string& src = init.path;
    VIDSERVE_RETURN_IF_ERROR(CopyModuleState(*init.network->encoder, *out.network->encoder, src));
    VIDSERVE_RETURN_IF_ERROR(CopyModuleState(*init.network->decoder, *out.network->decoder, src));
    if (!fresh_thin) {
      VIDSERVE_RETURN_IF_ERROR(
          CopyModuleState(*init.network->thin_decoder, *out.network->thin_decoder, src));
    } else {
      // A reshaped thin decoder keeps what still fits (e.g. every tensor but the output
      // convolution when only the output patch changes), so it need not learn it again.
      const MatchingCopy copied =
          CopyMatchingTensors(*init.network->thin_decoder, *out.network->thin_decoder);
      LOG_INFO << "reshaped thin decoder: " << copied.copied << " of " << copied.total
               << " tensors copied from " << src << " (same name and shape)";
      if (init.config.vae.thin_output_patch != out.config.vae.thin_output_patch &&
          out.network->thin_decoder->InitOutputPatchFrom(*init.network->thin_decoder)) {
        LOG_INFO << "thin decoder's output convolution set from the output patch "
                 << init.config.vae.thin_output_patch << " one, nearest-upsampled to "
                 << out.config.vae.thin_output_patch;
      }
      if (const int64_t set =
              out.network->thin_decoder->InitUpsampleToNextWidthFrom(*init.network->thin_decoder)) {
        LOG_INFO << "thin decoder: " << set << " upsampling convolution(s) set from "
                 << src << "'s followed by the next block's skip projection";
      }
    }
    if (!fresh_denoiser) {
      VIDSERVE_RETURN_IF_ERROR(
          CopyModuleState(*init.network->text_encoder, *out.network->text_encoder, src));
      VIDSERVE_RETURN_IF_ERROR(
          CopyModuleState(*init.network->denoiser, *out.network->denoiser, src));
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TrainingStage>> MakeStage(const StageContext& context) {
  switch (context.options->stage) {
    case TrainStage::kVae: return MakeVaeStage(context);
    case TrainStage::kThinDecoder: return MakeThinDecoderStage(context);
    case TrainStage::kDenoiser: return MakeDenoiserStage(context);
  }
  return absl::InternalError("unknown stage");
}

// The options a resumed run must share with the run that wrote the state.
nlohmann::json FixedOptions(const TrainOptions& o) {
  nlohmann::json fixed = {
      {"stage", TrainStageName(o.stage)}, {"batch_size", o.batch_size},
      {"seed", o.seed},                   {"mixer", o.mixer},
      {"thin_stages", o.thin_stages},     {"thin_width_multiplier", o.thin_width_multiplier},
      {"thin_output_patch", o.thin_output_patch}, {"freeze_encoder", o.freeze_encoder},
      {"frames", o.data.frames},          {"height", o.data.height},
      {"width", o.data.width},            {"clip_folder", o.data.clip_folder},
      {"first_clip", o.data.first_clip}};
  // Only when set, so that runs saved before the option existed still resume.
  if (o.thin_latent_res_blocks != -1) fixed["thin_latent_res_blocks"] = o.thin_latent_res_blocks;
  if (o.thin_upsample_to_next_width != -1) {
    fixed["thin_upsample_to_next_width"] = o.thin_upsample_to_next_width;
  }
  return fixed;
}

// AdamW with weight decay on matrices only: decaying norm gains and biases toward zero
// only fights the normalisation.
std::unique_ptr<torch::optim::AdamW> MakeOptimizer(const NamedTensors& params,
                                                   const OptimizerOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& [name, p] : params) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto base = torch::optim::AdamWOptions(o.learning_rate).betas({o.beta1, o.beta2}).eps(1e-8);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(base).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(base).weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(groups, base);
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
}

}  // namespace

absl::StatusOr<TrainingSummary> RunTraining(const TrainOptions& options,
                                            int64_t max_steps_this_run) {
  VIDSERVE_RETURN_IF_ERROR(ValidateTrainOptions(options));
  const Clock::time_point run_start = Clock::now();
  try {
    if (options.threads > 0) at::set_num_threads(options.threads);
    VIDSERVE_ASSIGN_OR_RETURN(torch::Device device, ResolveDevice(options.device));
    std::error_code ec;
    fs::create_directories(options.run_dir, ec);
    if (ec) return absl::UnavailableError(absl::StrCat(options.run_dir, ": ", ec.message()));

    VIDSERVE_ASSIGN_OR_RETURN(StageNetwork built, BuildStageNetwork(options));
    TrainingState state(options.run_dir);
    int64_t start_step = 0;
    // steps == 0: a placeholder until the rate is measured (only warm-up runs before).
    constexpr int64_t kUnknownTotal = int64_t{1} << 40;
    int64_t total_steps = options.steps > 0 ? options.steps : kUnknownTotal;
    if (built.resumed) {
      VIDSERVE_ASSIGN_OR_RETURN(nlohmann::json trainer, state.LoadTrainer());
      if (trainer.value("options", nlohmann::json()) != FixedOptions(options)) {
        return absl::FailedPreconditionError(absl::StrCat(
            options.run_dir, ": holds a run with different options ",
            trainer.value("options", nlohmann::json()).dump(), "; this run has ",
            FixedOptions(options).dump(), " (use a new --run_dir)"));
      }
      start_step = trainer.value("step", int64_t{0});
      total_steps = trainer.value("total_steps", options.steps);
    }
    VideoNetwork network = built.network;
    ModelConfig config = built.config;
    network->to(device);
    network->eval();
    for (auto& p : network->parameters()) p.set_requires_grad(false);

    StageContext context;
    context.network = network;
    context.config = &config;
    context.device = device;
    context.options = &options;
    context.resumed = built.resumed;
    VIDSERVE_ASSIGN_OR_RETURN(std::unique_ptr<TrainingStage> stage, MakeStage(context));
    const NamedTensors trainable = stage->TrainableParameters();
    std::vector<torch::Tensor> params;
    for (const auto& [name, p] : trainable) {
      p.set_requires_grad(true);
      params.push_back(p);
    }
    for (auto& module : stage->TrainableModules()) module->train();

    auto optimizer = MakeOptimizer(trainable, options.optimizer);
    ParameterEma ema(trainable, options.optimizer.ema_decay);
    if (built.resumed) VIDSERVE_RETURN_IF_ERROR(state.LoadOptimizerAndEma(*optimizer, ema, device));
    VIDSERVE_RETURN_IF_ERROR(stage->Prepare(start_step));

    int64_t trainable_count = 0;
    for (const auto& p : params) trainable_count += p.numel();
    LOG_INFO << "train stage=" << TrainStageName(options.stage) << " device=" << device.str()
             << " trainable_params=" << trainable_count << " batch=" << options.batch_size
             << " steps=" << start_step << "/" << total_steps
             << (built.resumed ? " resumed_from=" : " run_dir=") << options.run_dir
             << " bf16=" << (options.bf16 && device.is_cuda() ? "on" : "off");
    VIDSERVE_ASSIGN_OR_RETURN(
        LossLog log, LossLog::Open((fs::path(options.run_dir) / "losses.csv").string(),
                                   TrainStageName(options.stage), options.progress_bar));

    TrainingSummary summary;
    summary.start_step = start_step;
    summary.total_steps = total_steps;
    auto save_state = [&](int64_t steps_done) {
      nlohmann::json trainer = {{"step", steps_done},
                                {"total_steps", total_steps},
                                {"options", FixedOptions(options)}};
      return state.Save(network, config, ema, *optimizer, trainer);
    };

    const Clock::time_point loop_start = Clock::now();
    Clock::time_point measure_start = loop_start;
    // The step the end-of-warm-up refit measures from (this process's first step when a
    // resumed run already had its first fit).
    int64_t refit_from_step = start_step;
    Clock::time_point window_start = loop_start;
    int64_t window_clips = 0, clips_total = 0;
    int64_t step = start_step;
    std::vector<std::pair<std::string, double>> last_terms;
    // The EMA shadows at the end of the last healthy loss window: the export if the loss
    // diverges later in this run.
    DivergenceGuard guard(options.divergence);
    std::map<std::string, torch::Tensor> fallback_ema;
    int64_t fallback_step = step;
    bool diverged = false;
    while (step < total_steps) {
      const double lr = LearningRateAt(step, total_steps, options.optimizer);
      SetLearningRate(*optimizer, lr);
      // Per-step seeding: a resumed run draws exactly the noise the uninterrupted one would.
      torch::manual_seed(options.seed * 1000003ull + static_cast<uint64_t>(step));
      VIDSERVE_ASSIGN_OR_RETURN(StepLoss loss, stage->Loss(step));
      const double loss_value = loss.total.item<double>();
      if (!std::isfinite(loss_value)) {
        return absl::InternalError(absl::StrCat(
            "loss became non-finite (", loss_value, ") at step ", step,
            "; the last saved state in ", options.run_dir, " is intact; lower --learning_rate"));
      }
      optimizer->zero_grad();
      loss.total.backward();
      double grad_norm = 0;
      if (options.optimizer.grad_clip_norm > 0) {
        grad_norm = static_cast<double>(
            torch::nn::utils::clip_grad_norm_(params, options.optimizer.grad_clip_norm));
      }
      optimizer->step();
      ema.Update(step);
      ++step;
      // --steps 0: fit the schedule to what is left of the budget (keeping 5% for the
      // export), first from steps [kAutoStepsMeasureBegin, kAutoStepsMeasureEnd), then again
      // at the end of warm-up from the rate since. The first steps' rate can be far from
      // the steady one (cuDNN autotuning, a neighbour run on the same GPU still starting
      // up: 175 ms/step fitted vs 82 measured over a whole H100 run, which then stopped
      // at half its budget). Warm-up LRs do not depend on the total, so the refit changes
      // nothing already done.
      auto fit_total = [&](Clock::time_point since, int64_t steps_measured, const char* what) {
        const double seconds_per_step = SecondsSince(since) / static_cast<double>(steps_measured);
        const double left = options.time_budget_minutes * 60.0 * 0.95 - SecondsSince(run_start);
        total_steps = step + std::max<int64_t>(1, static_cast<int64_t>(left / seconds_per_step));
        summary.total_steps = total_steps;
        summary.fitted_total_steps.push_back(total_steps);
        LOG_INFO << "schedule " << what << " to the time budget: " << total_steps << " steps ("
                 << seconds_per_step * 1000 << " ms per step)";
      };
      if (total_steps == kUnknownTotal && step == kAutoStepsMeasureBegin) measure_start = Clock::now();
      if (total_steps == kUnknownTotal && step == kAutoStepsMeasureEnd) {
        fit_total(measure_start, kAutoStepsMeasureEnd - kAutoStepsMeasureBegin, "fitted");
        measure_start = Clock::now();
        refit_from_step = step;
      }
      if (options.steps == 0 && step == options.optimizer.warmup_steps &&
          step - refit_from_step >= kAutoStepsMeasureEnd - kAutoStepsMeasureBegin) {
        fit_total(measure_start, step - refit_from_step, "refitted");
      }
      summary.step_losses.push_back(loss_value);
      switch (guard.Observe(loss_value)) {
        case DivergenceGuard::Verdict::kHealthy:
          for (const auto& [name, shadow] : ema.shadows()) fallback_ema[name] = shadow.clone();
          fallback_step = step;
          break;
        case DivergenceGuard::Verdict::kDiverged:
          diverged = true;
          break;
        case DivergenceGuard::Verdict::kInWindow:
        case DivergenceGuard::Verdict::kUneasy:
          break;
      }
      window_clips += loss.clips;
      clips_total += loss.clips;
      last_terms = loss.terms;
      last_terms.emplace_back("grad_norm", grad_norm);

      const double elapsed = SecondsSince(run_start);
      const bool out_of_time = options.time_budget_minutes > 0 &&
                               elapsed >= options.time_budget_minutes * 60.0;
      const bool out_of_steps =
          max_steps_this_run > 0 && step - start_step >= max_steps_this_run;
      if (step % options.log_every == 0 || step == total_steps || out_of_time || out_of_steps ||
          diverged || step == start_step + 1) {
        const double window = std::max(1e-9, SecondsSince(window_start));
        LossRow row{step, lr, loss_value, last_terms, window_clips / window, elapsed};
        const double rate = (step - start_step) / std::max(1e-9, SecondsSince(loop_start));
        log.Write(row, total_steps, (total_steps - step) / std::max(rate, 1e-9));
        window_start = Clock::now();
        window_clips = 0;
      }
      if (step % options.save_every == 0 && step < total_steps) {
        VIDSERVE_RETURN_IF_ERROR(save_state(step));
      }
      if (out_of_time || out_of_steps || diverged) break;
    }
    log.Finish();
    summary.exported_ema_step = step;
    if (diverged) {
      // The raw weights and optimiser moments are past saving: keep the state of the last
      // save (a resume replays from there) and export the EMA of the last healthy window.
      summary.diverged_at_step = step;
      summary.exported_ema_step = fallback_step;
      VIDSERVE_RETURN_IF_ERROR(ema.LoadShadows(fallback_ema));
      LOG_WARNING << "loss diverged: window mean " << guard.last_window_mean().value_or(0)
                  << " against the best " << guard.best_window_mean().value_or(0)
                  << " by step " << step << "; stopping and exporting the EMA weights of step "
                  << fallback_step;
    } else {
      VIDSERVE_RETURN_IF_ERROR(save_state(step));
    }
    summary.steps_done = step;
    summary.finished = step >= total_steps;
    const double loop_seconds = SecondsSince(loop_start);
    summary.clips_per_second = clips_total / std::max(1e-9, loop_seconds);

    // Export the EMA weights (the raw ones stay in state/ for resuming).
    ema.CopyToParameters();
    network->eval();
    for (const auto& [name, value] : stage->Evaluate()) summary.evaluation[name] = value;
    summary.export_path = (fs::path(options.run_dir) / "model.safetensors").string();
    VIDSERVE_RETURN_IF_ERROR(SaveVideoNetwork(summary.export_path, network, config,
                                              CheckpointInfo{}, CheckpointDtype::kFloat32));
    summary.run_seconds = SecondsSince(run_start);

    nlohmann::json terms = nlohmann::json::object();
    for (const auto& [name, value] : last_terms) terms[name] = value;
    nlohmann::json j = {{"stage", TrainStageName(options.stage)},
                        {"device", device.str()},
                        {"torch", TorchVersion()},
                        {"bf16", options.bf16 && device.is_cuda()},
                        {"mixers", config.denoiser.mixers},
                        {"batch_size", options.batch_size},
                        {"trainable_parameters", trainable_count},
                        {"start_step", start_step},
                        {"steps_done", step},
                        {"total_steps", total_steps},
                        {"fitted_total_steps", summary.fitted_total_steps},
                        {"diverged_at_step", summary.diverged_at_step.has_value()
                                                 ? nlohmann::json(*summary.diverged_at_step)
                                                 : nlohmann::json(nullptr)},
                        {"exported_ema_step", summary.exported_ema_step},
                        {"run_seconds", summary.run_seconds},
                        {"clips_per_second", summary.clips_per_second},
                        {"final_loss", summary.step_losses.empty() ? 0.0 : summary.step_losses.back()},
                        {"final_terms", terms},
                        {"evaluation", summary.evaluation}};
    std::ofstream((fs::path(options.run_dir) / "summary.json").string()) << j.dump(2) << "\n";
    LOG_INFO << "train done stage=" << TrainStageName(options.stage) << " steps=" << step << "/"
             << total_steps << " seconds=" << summary.run_seconds
             << " clips_per_s=" << summary.clips_per_second << " export=" << summary.export_path;
    return summary;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("training failed: ", e.what()));
  }
}

}  // namespace vidserve::train

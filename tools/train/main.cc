// vidserve-train: trains the vidserve model in three stages, then merges them into the
// checkpoint the server loads.
//
//   vidserve-train vae      --run_dir runs/vae --steps 6000 --batch_size 32 [--device cuda]
//   vidserve-train thin     --run_dir runs/thin --init_checkpoint runs/vae/model.safetensors
//   vidserve-train denoiser --run_dir runs/den --init_checkpoint runs/vae/model.safetensors
//   vidserve-train merge    --vae runs/vae --thin runs/thin --denoiser runs/den \
//                           --out models/vidserve-tiny/model.safetensors [--metrics q.json]
//                           [--sampler_config models/vidserve-tiny/config.yaml]
//
// A run directory that already holds state is resumed (same options). --time_budget_minutes
// stops cleanly with state saved, so long trainings fit machines lent for short periods.
// Exit codes: 0 done (or budget reached, state saved), 2 bad flags, 1 training failed.
#include <execinfo.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "train/checkpoint_merge.h"
#include "train/train_options.h"
#include "train/trainer.h"

namespace {
const vidserve::train::TrainOptions kDefaults;
}  // namespace

ABSL_FLAG(std::string, run_dir, "", "run directory (state, losses.csv, model.safetensors)");
ABSL_FLAG(std::string, init_checkpoint, "", "previous stage's export (thin, denoiser stages)");
ABSL_FLAG(std::string, config, kDefaults.config, "preset name or YAML path (vae stage, fresh)");
ABSL_FLAG(std::string, mixer, "", "denoiser stage: token mixer of every layer (softmax|loglinear|mesa)");
ABSL_FLAG(int64_t, thin_stages, -1,
          "thin stage: pixel-near decoder stages to narrow, for a thin decoder of a new shape "
          "trained from scratch (-1 = the init checkpoint's)");
ABSL_FLAG(double, thin_width_multiplier, 0,
          "thin stage: width multiplier of the narrowed stages (0 = the init checkpoint's)");
ABSL_FLAG(int64_t, thin_output_patch, 0,
          "thin stage: output patch 1, 2 or 4 (the last log2(p) stages skip their spatial "
          "upsampling; 0 = the init checkpoint's)");
ABSL_FLAG(int64_t, thin_latent_res_blocks, -1,
          "thin stage: residual blocks kept at the latents' resolution, the mid block first "
          "(-1 = the init checkpoint's)");
ABSL_FLAG(int64_t, thin_upsample_to_next_width, -1,
          "thin stage: how many of the deepest stages upsample straight to the next stage's "
          "width, 0-2 (-1 = the init checkpoint's)");
ABSL_FLAG(bool, freeze_encoder, false,
          "vae stage from --init_checkpoint: train the full decoder only, keeping the latent space");
ABSL_FLAG(bool, remeasure_latent_statistics, false,
          "denoiser stage continuing --init_checkpoint's denoiser: measure the latent statistics "
          "on this run's cache instead of keeping the ones it was trained with");
ABSL_FLAG(std::string, device, kDefaults.device, "auto | cpu | cuda | cuda:N");
ABSL_FLAG(int, threads, kDefaults.threads, "CPU intra-op threads (0 = LibTorch default)");
ABSL_FLAG(int64_t, steps, kDefaults.steps, "schedule length in optimiser steps");
ABSL_FLAG(double, time_budget_minutes, kDefaults.time_budget_minutes,
          "stop with state saved after this much wall time (0 = none)");
ABSL_FLAG(int64_t, max_steps_this_run, 0, "stop with state saved after this many steps (0 = none)");
ABSL_FLAG(int64_t, batch_size, kDefaults.batch_size, "clips per step");
ABSL_FLAG(uint64_t, seed, kDefaults.seed, "init / noise / dropout seed");
ABSL_FLAG(bool, bf16, kDefaults.bf16, "bf16 autocast on CUDA");
ABSL_FLAG(double, caption_dropout, kDefaults.caption_dropout, "denoiser: share of empty captions");
ABSL_FLAG(int64_t, log_every, kDefaults.log_every, "steps between log rows");
ABSL_FLAG(int64_t, save_every, kDefaults.save_every, "steps between state saves");
ABSL_FLAG(bool, progress_bar, true, "redraw one progress line (false: one line per log row)");
ABSL_FLAG(double, divergence_factor, kDefaults.divergence.stop_factor,
          "stop and export the last healthy EMA weights when a window's mean loss exceeds this "
          "multiple of the lowest window mean (0 = off)");
ABSL_FLAG(double, divergence_healthy_factor, kDefaults.divergence.healthy_factor,
          "a window within this multiple of the lowest mean refreshes the fallback weights");
ABSL_FLAG(int64_t, divergence_window, kDefaults.divergence.window,
          "steps per loss window of the divergence guard");
ABSL_FLAG(double, learning_rate, kDefaults.optimizer.learning_rate, "peak learning rate");
ABSL_FLAG(double, min_learning_rate_ratio, kDefaults.optimizer.min_learning_rate_ratio,
          "cosine floor / peak");
ABSL_FLAG(int64_t, warmup_steps, kDefaults.optimizer.warmup_steps, "linear warm-up steps");
ABSL_FLAG(double, weight_decay, kDefaults.optimizer.weight_decay, "AdamW weight decay (matrices)");
ABSL_FLAG(double, grad_clip_norm, kDefaults.optimizer.grad_clip_norm, "global grad-norm clip (<=0 off)");
ABSL_FLAG(double, ema_decay, kDefaults.optimizer.ema_decay, "EMA decay (0 = off)");
ABSL_FLAG(double, loss_l1, kDefaults.loss.l1, "weight of pixel L1");
ABSL_FLAG(double, loss_ssim, kDefaults.loss.ssim, "weight of 1 - SSIM");
ABSL_FLAG(double, loss_gradient, kDefaults.loss.gradient, "weight of gradient L1");
ABSL_FLAG(double, loss_kl, kDefaults.loss.kl, "weight of the KL term (vae)");
ABSL_FLAG(double, loss_distill, kDefaults.loss.distill, "weight of distillation L1 (thin)");
ABSL_FLAG(double, loss_thin_reconstruction, kDefaults.loss.thin_reconstruction,
          "weight of the pixel terms (thin)");
ABSL_FLAG(std::string, clip_folder, "", "folder of .y4m/.mp4 clips + .txt captions (default: synthetic)");
ABSL_FLAG(int, frames, kDefaults.data.frames, "frames per training clip (4k+1)");
ABSL_FLAG(int, height, kDefaults.data.height, "clip height in pixels");
ABSL_FLAG(int, width, kDefaults.data.width, "clip width in pixels");
ABSL_FLAG(int, loader_threads, kDefaults.data.loader_threads, "batches prepared in parallel");
ABSL_FLAG(int64_t, latent_cache_clips, kDefaults.data.latent_cache_clips,
          "denoiser: clips encoded into the latent cache (0 = whole folder)");
ABSL_FLAG(int64_t, first_clip, kDefaults.data.first_clip,
          "index of the run's first clip (continuation runs: a new offset sees new clips)");
// merge
ABSL_FLAG(std::string, vae, "", "merge: vae stage export (file or run dir)");
ABSL_FLAG(std::string, thin, "", "merge: thin stage export");
ABSL_FLAG(std::string, denoiser, "", "merge: denoiser stage export");
ABSL_FLAG(std::string, out, "", "merge: output .safetensors");
ABSL_FLAG(std::string, name, "", "merge: model name to record");
ABSL_FLAG(std::string, dtype, "fp16", "merge: fp16 | fp32");
ABSL_FLAG(bool, trained, true, "merge: mark the checkpoint trained (false for intermediate copies)");
ABSL_FLAG(std::string, metrics, "", "merge: JSON file with a flat {name: number} object of metrics");
ABSL_FLAG(std::string, sampler_config, "",
          "merge: model config YAML whose sampler section replaces the denoiser checkpoint's");

namespace {

int RunMerge() {
  vidserve::train::MergeOptions o;
  o.vae_checkpoint = absl::GetFlag(FLAGS_vae);
  o.thin_checkpoint = absl::GetFlag(FLAGS_thin);
  o.denoiser_checkpoint = absl::GetFlag(FLAGS_denoiser);
  o.output = absl::GetFlag(FLAGS_out);
  o.name = absl::GetFlag(FLAGS_name);
  o.trained = absl::GetFlag(FLAGS_trained);
  if (o.vae_checkpoint.empty() || o.thin_checkpoint.empty() || o.denoiser_checkpoint.empty() ||
      o.output.empty()) {
    std::fprintf(stderr, "vidserve-train merge: --vae, --thin, --denoiser and --out are required\n");
    return 2;
  }
  const std::string dtype = absl::GetFlag(FLAGS_dtype);
  if (dtype != "fp16" && dtype != "fp32") {
    std::fprintf(stderr, "vidserve-train merge: --dtype must be fp16 or fp32, got %s\n", dtype.c_str());
    return 2;
  }
  o.dtype = dtype == "fp16" ? vidserve::CheckpointDtype::kFloat16 : vidserve::CheckpointDtype::kFloat32;
  if (const std::string metrics = absl::GetFlag(FLAGS_metrics); !metrics.empty()) {
    std::ifstream in(metrics);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      std::fprintf(stderr, "vidserve-train merge: --metrics %s is not a JSON object\n", metrics.c_str());
      return 2;
    }
    for (auto& [key, value] : j.items()) {
      if (!value.is_number()) {
        std::fprintf(stderr, "vidserve-train merge: --metrics: '%s' is not a number\n", key.c_str());
        return 2;
      }
      o.metrics[key] = value.get<double>();
    }
  }
  if (const std::string path = absl::GetFlag(FLAGS_sampler_config); !path.empty()) {
    absl::StatusOr<vidserve::ModelConfig> config = vidserve::LoadModelConfigFile(path);
    if (!config.ok()) {
      std::fprintf(stderr, "vidserve-train merge: --sampler_config: %s\n",
                   std::string(config.status().message()).c_str());
      return 2;
    }
    o.sampler = config->sampler;
  }
  if (absl::Status s = vidserve::train::MergeCheckpoints(o); !s.ok()) {
    std::fprintf(stderr, "vidserve-train merge: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("wrote %s\n", o.output.c_str());
  return 0;
}

}  // namespace

// A crash in a long run should say where: print the stack before dying.
void PrintStackAndDie(int signal) {
  void* frames[64];
  const int n = backtrace(frames, 64);
  const char message[] = "vidserve-train: fatal signal; stack:\n";
  (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

int main(int argc, char** argv) {
  std::signal(SIGSEGV, PrintStackAndDie);
  std::signal(SIGABRT, PrintStackAndDie);
  absl::SetProgramUsageMessage(
      "vidserve-train <vae|thin|denoiser|merge> [flags]; see tools/train/main.cc");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: vidserve-train <vae|thin|denoiser|merge> [flags] (--help)\n");
    return 2;
  }
  const std::string command = args[1];
  if (command == "merge") return RunMerge();
  auto stage = vidserve::train::ParseTrainStage(command);
  if (!stage.ok()) {
    std::fprintf(stderr, "vidserve-train: %s (or merge)\n", std::string(stage.status().message()).c_str());
    return 2;
  }
  vidserve::train::TrainOptions o;
  o.stage = *stage;
  o.run_dir = absl::GetFlag(FLAGS_run_dir);
  o.init_checkpoint = absl::GetFlag(FLAGS_init_checkpoint);
  o.config = absl::GetFlag(FLAGS_config);
  o.mixer = absl::GetFlag(FLAGS_mixer);
  o.thin_stages = absl::GetFlag(FLAGS_thin_stages);
  o.thin_width_multiplier = absl::GetFlag(FLAGS_thin_width_multiplier);
  o.thin_output_patch = absl::GetFlag(FLAGS_thin_output_patch);
  o.thin_latent_res_blocks = absl::GetFlag(FLAGS_thin_latent_res_blocks);
  o.thin_upsample_to_next_width = absl::GetFlag(FLAGS_thin_upsample_to_next_width);
  o.freeze_encoder = absl::GetFlag(FLAGS_freeze_encoder);
  o.remeasure_latent_statistics = absl::GetFlag(FLAGS_remeasure_latent_statistics);
  o.device = absl::GetFlag(FLAGS_device);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.steps = absl::GetFlag(FLAGS_steps);
  o.time_budget_minutes = absl::GetFlag(FLAGS_time_budget_minutes);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.bf16 = absl::GetFlag(FLAGS_bf16);
  o.caption_dropout = absl::GetFlag(FLAGS_caption_dropout);
  o.log_every = absl::GetFlag(FLAGS_log_every);
  o.save_every = absl::GetFlag(FLAGS_save_every);
  o.progress_bar = absl::GetFlag(FLAGS_progress_bar);
  o.divergence.stop_factor = absl::GetFlag(FLAGS_divergence_factor);
  o.divergence.healthy_factor = absl::GetFlag(FLAGS_divergence_healthy_factor);
  o.divergence.window = absl::GetFlag(FLAGS_divergence_window);
  o.optimizer.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  o.optimizer.min_learning_rate_ratio = absl::GetFlag(FLAGS_min_learning_rate_ratio);
  o.optimizer.warmup_steps = absl::GetFlag(FLAGS_warmup_steps);
  o.optimizer.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  o.optimizer.grad_clip_norm = absl::GetFlag(FLAGS_grad_clip_norm);
  o.optimizer.ema_decay = absl::GetFlag(FLAGS_ema_decay);
  o.loss.l1 = absl::GetFlag(FLAGS_loss_l1);
  o.loss.ssim = absl::GetFlag(FLAGS_loss_ssim);
  o.loss.gradient = absl::GetFlag(FLAGS_loss_gradient);
  o.loss.kl = absl::GetFlag(FLAGS_loss_kl);
  o.loss.distill = absl::GetFlag(FLAGS_loss_distill);
  o.loss.thin_reconstruction = absl::GetFlag(FLAGS_loss_thin_reconstruction);
  o.data.clip_folder = absl::GetFlag(FLAGS_clip_folder);
  o.data.frames = absl::GetFlag(FLAGS_frames);
  o.data.height = absl::GetFlag(FLAGS_height);
  o.data.width = absl::GetFlag(FLAGS_width);
  o.data.loader_threads = absl::GetFlag(FLAGS_loader_threads);
  o.data.latent_cache_clips = absl::GetFlag(FLAGS_latent_cache_clips);
  o.data.first_clip = absl::GetFlag(FLAGS_first_clip);
  if (absl::Status s = vidserve::train::ValidateTrainOptions(o); !s.ok()) {
    std::fprintf(stderr, "vidserve-train: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  auto summary = vidserve::train::RunTraining(o, absl::GetFlag(FLAGS_max_steps_this_run));
  if (!summary.ok()) {
    std::fprintf(stderr, "vidserve-train: %s\n", std::string(summary.status().message()).c_str());
    return 1;
  }
  std::printf("%s: %lld/%lld steps (%s), %.1f clips/s, export %s\n", command.c_str(),
              static_cast<long long>(summary->steps_done),
              static_cast<long long>(summary->total_steps),
              summary->finished ? "finished" : "stopped early, resume with the same command",
              summary->clips_per_second, summary->export_path.c_str());
  for (const auto& [name, value] : summary->evaluation) std::printf("  %s %.4f\n", name.c_str(), value);
  return 0;
}

// Everything a vidserve-train run is told: which stage, the optimiser and its schedule,
// the loss weights, the data and where the run lives. Plain structs with defaults and
// units; ValidateTrainOptions names the first bad field. No torch here.
//
// Thread-safety: plain data.
#ifndef VIDSERVE_TRAIN_TRAIN_OPTIONS_H_
#define VIDSERVE_TRAIN_TRAIN_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "train/divergence_guard.h"

namespace vidserve::train {

// The three stages, run in this order; each starts from the previous stage's export.
//   vae:      encoder + full decoder (reconstruction + SSIM + gradient + KL).
//   thin:     thin decoder against the frozen encoder (distillation from the full decoder
//             plus reconstruction).
//   denoiser: text encoder + denoiser on frozen-encoder latents (rectified flow matching
//             with caption dropout for classifier-free guidance).
enum class TrainStage { kVae, kThinDecoder, kDenoiser };
absl::StatusOr<TrainStage> ParseTrainStage(absl::string_view name);  // "vae"|"thin"|"denoiser"
const char* TrainStageName(TrainStage stage);

struct OptimizerOptions {
  double learning_rate = 3e-4;         // peak, reached at the end of warm-up
  double min_learning_rate_ratio = 0.05;  // cosine floor, as a fraction of the peak
  int64_t warmup_steps = 200;          // linear warm-up from 0
  double weight_decay = 0.01;          // AdamW, matrices only (not norms or biases)
  double beta1 = 0.9;
  double beta2 = 0.99;
  double grad_clip_norm = 1.0;  // global L2 norm; <= 0 disables clipping
  // Exponential moving average of the weights, exported instead of the raw weights.
  // 0 disables. The effective decay ramps up as min(decay, (1 + step) / (10 + step)).
  double ema_decay = 0.999;
};

struct LossWeights {
  double l1 = 1.0;          // mean |pred - target| over pixels in [-1, 1]
  double ssim = 0.2;        // 1 - SSIM (11x11 Gaussian window, per frame)
  double gradient = 0.5;    // L1 between horizontal/vertical pixel differences (edges)
  double kl = 1e-6;         // KL(q(z|x) || N(0, I)), mean over latent elements (vae stage)
  double distill = 1.0;     // thin stage: L1 to the frozen full decoder's output
  // Thin stage: weight of the pixel terms above against the clip itself. 1.0 since round
  // c19: at 0.5 the thin decoder's PSNR gap to the full decoder stalled at 0.66 dB
  // (c16-c18), at 1.0 it closed to 0.09 dB in three rounds (BENCHMARKS.md section 5).
  double thin_reconstruction = 1.0;
};

struct DataOptions {
  // A folder of name.y4m / name.mp4 clips with name.txt captions; empty = the synthetic
  // generator's training seeds (never its held-out seeds).
  std::string clip_folder;
  int frames = 17;  // 4k+1
  int height = 64;  // pixels, multiple of 16
  int width = 64;   // pixels, multiple of 16
  int loader_threads = 4;  // batches built in parallel ahead of the training step
  // Denoiser stage: clips encoded once at the start and sampled from afterwards (the VAE
  // is frozen, so encoding every step would only repeat work). 0 = every clip in the folder
  // (synthetic data needs a number).
  int64_t latent_cache_clips = 20000;
  // Index of the first clip a run reads: clip i of the run is source clip first_clip + i
  // (a training seed of the synthetic generator, or a position in the folder's epoch
  // permutations). Every run starts at clip 0 otherwise, so continuation runs pass a new
  // offset to learn from clips the earlier runs never saw; for the denoiser, whose latent
  // cache holds only latent_cache_clips clips, this is the whole difference.
  int64_t first_clip = 0;
};

struct TrainOptions {
  TrainStage stage = TrainStage::kVae;
  // Where the run keeps its resumable state, loss log and export. A run directory that
  // already holds state is resumed from it (same options expected).
  std::string run_dir;
  // The previous stage's export (a .safetensors file or a directory holding
  // model.safetensors); the vae stage may instead start from `config`.
  std::string init_checkpoint;
  std::string config = "tiny";  // preset name or YAML path when there is no init_checkpoint
  std::string mixer;  // denoiser stage: override every layer's token mixer (softmax|loglinear|mesa)
  // Vae stage from an init checkpoint: train the full decoder only, the encoder frozen. The
  // latent space stays exactly the init's, so its denoiser and thin decoder still fit (the
  // thin decoder is then re-distilled from the new full decoder to keep up with it).
  bool freeze_encoder = false;
  // Denoiser stage from a checkpoint whose denoiser it continues: measure the latent
  // statistics on this run's cache instead of keeping the ones that denoiser was trained
  // with (a fresh denoiser, or an init without statistics, always measures them).
  bool remeasure_latent_statistics = false;
  // Thin stage: a thin decoder of another shape than the init checkpoint's: how many
  // pixel-near stages are narrowed (-1 = keep), by what width multiplier (0 = keep) and
  // its output patch (1, 2 or 4; 0 = keep). It starts from the init checkpoint's thin
  // decoder tensors whose names and shapes still match, the rest freshly initialised. The
  // merge takes the thin checkpoint's shape.
  int64_t thin_stages = -1;
  double thin_width_multiplier = 0;
  int64_t thin_output_patch = 0;
  // Residual blocks kept at the latents' resolution (the mid block first; -1 = keep the init
  // checkpoint's): on a GPU a small clip's decode pays per kernel launch, and each is ~9.
  int64_t thin_latent_res_blocks = -1;
  // How many of the deepest stages upsample straight to the next stage's width
  // (VaeDecoderOptions::upsample_to_next_width; -1 = keep the init checkpoint's). Growing it
  // starts each such convolution from the init's followed by the next block's skip
  // projection (VaeDecoder::InitUpsampleToNextWidthFrom).
  int64_t thin_upsample_to_next_width = -1;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // CPU intra-op threads; 0 = LibTorch's default
  // Length of the schedule, in optimiser steps. 0 = fit it to time_budget_minutes: the
  // rate is measured over steps 10-40 (during warm-up, which must be >= 40 steps) and the
  // schedule is set to end at the budget; the number is stored in the state for resumes.
  int64_t steps = 1000;
  // Stop cleanly (state saved, export written) once this much wall time has passed; the
  // next run resumes. 0 = no limit.
  double time_budget_minutes = 0;
  int64_t batch_size = 8;
  uint64_t seed = 0;  // weights init (vae stage from config), noise, timesteps, dropout
  bool bf16 = true;   // bf16 autocast on CUDA (fp32 master weights); ignored on CPU
  double caption_dropout = 0.1;  // denoiser stage: share of captions replaced by ""
  int64_t log_every = 20;    // steps between CSV rows / progress updates
  int64_t save_every = 1000; // steps between resumable-state saves (also saved at the end)
  bool progress_bar = true;  // redraw one stderr line; false = a line per log row
  OptimizerOptions optimizer;
  LossWeights loss;
  DataOptions data;
  // When the loss diverges the run stops early and exports the EMA weights of the last
  // healthy window (summary: diverged_at_step); no resumable state is saved then.
  DivergenceGuardOptions divergence;
};

// steps == 0: the optimiser steps over which the rate is measured.
inline constexpr int64_t kAutoStepsMeasureBegin = 10;
inline constexpr int64_t kAutoStepsMeasureEnd = 40;

// InvalidArgument naming the first bad field and its allowed range.
absl::Status ValidateTrainOptions(const TrainOptions& options);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_TRAIN_OPTIONS_H_

// The generic training loop behind vidserve-train: builds (or resumes) the network,
// AdamW with warm-up + cosine, gradient clipping, EMA, bf16 autocast on CUDA, the loss
// log, periodic resumable state, a wall-time budget, and the export the next stage
// starts from. What is trained and how the loss is computed is the stage's business
// (training_stage.h).
//
// Run directory layout:
//   state/network.safetensors   every weight (raw, fp32) with the config embedded
//   state/ema.safetensors       EMA shadows of the trained parameters
//   state/optimizer.pt          AdamW moments (LibTorch serialization)
//   state/trainer.json          step, schedule length, options that must not change
//   losses.csv                  one row per logged step (appended across resumes)
//   model.safetensors           the export: EMA weights, fp32, config embedded
//   summary.json                this run's steps, rate, final losses, held-out measures
//
// A run whose loss diverges (divergence_guard.h) stops early, exports the EMA weights of
// its last healthy loss window and leaves the state as it was at the last save.
//
// Thread-safety: RunTraining is not reentrant for the same run_dir.
#ifndef VIDSERVE_TRAIN_TRAINER_H_
#define VIDSERVE_TRAIN_TRAINER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "train/train_options.h"

namespace vidserve::train {

struct TrainingSummary {
  int64_t start_step = 0;   // steps already done when this run began (resume)
  int64_t steps_done = 0;   // steps done when it ended
  int64_t total_steps = 0;  // schedule length
  // --steps 0: the schedule lengths fitted to the time budget, in order (after the first
  // measured steps, then at the end of warm-up).
  std::vector<int64_t> fitted_total_steps;
  bool finished = false;    // steps_done == total_steps
  double run_seconds = 0;
  double clips_per_second = 0;
  std::vector<double> step_losses;  // loss of each step this run took, in order
  std::map<std::string, double> evaluation;  // held-out measures of the export
  std::string export_path;
  // Set when the divergence guard stopped the run: the step it stopped at, and the step
  // whose EMA weights were exported instead (the end of the last healthy loss window).
  std::optional<int64_t> diverged_at_step;
  int64_t exported_ema_step = 0;
};

// Runs (or resumes) options.stage in options.run_dir. `max_steps_this_run` > 0 stops after
// that many steps (state saved), as a time budget would.
absl::StatusOr<TrainingSummary> RunTraining(const TrainOptions& options,
                                            int64_t max_steps_this_run = 0);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_TRAINER_H_

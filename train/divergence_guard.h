// Watches a training run's loss for divergence, window by window, so an unattended run can
// stop and export the EMA weights from before a blow-up instead of after it (a denoiser
// round on 2026-11-28 held its loss for 600 steps, crept up, then jumped 5x while its
// learning rate decayed; its EMA export carried the damage).
//
// Loss values arrive one per step; every `window` steps the guard compares the window's
// mean loss with the lowest window mean so far. No torch here: the trainer keeps the
// weights and acts on the verdicts.
//
// Thread-safety: not thread-safe; owned by the training loop.
#ifndef VIDSERVE_TRAIN_DIVERGENCE_GUARD_H_
#define VIDSERVE_TRAIN_DIVERGENCE_GUARD_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"

namespace vidserve::train {

struct DivergenceGuardOptions {
  // Diverged: a window's mean loss above this multiple of the lowest window mean so far.
  // 0 = never (the guard only reports windows).
  double stop_factor = 2.0;
  // A window whose mean is within this multiple of the lowest is healthy: the weights
  // after it are the ones to fall back on. Between this and stop_factor the run goes on
  // without refreshing the fallback.
  double healthy_factor = 1.25;
  int64_t window = 50;  // steps per window
};

// InvalidArgument naming the first bad field: window >= 1, healthy_factor >= 1,
// stop_factor 0 or > healthy_factor.
absl::Status ValidateDivergenceGuardOptions(const DivergenceGuardOptions& options);

class DivergenceGuard {
 public:
  enum class Verdict {
    kInWindow,  // mid-window: nothing to do
    kHealthy,   // a window ended near the best: refresh the fallback weights
    kUneasy,    // a window ended above healthy_factor but under stop_factor
    kDiverged,  // a window ended above stop_factor: stop and fall back
  };

  // REQUIRES: ValidateDivergenceGuardOptions(options).ok().
  explicit DivergenceGuard(const DivergenceGuardOptions& options);

  Verdict Observe(double loss);

  // The lowest window mean and the last completed window's mean; nullopt before the first
  // window ends.
  std::optional<double> best_window_mean() const { return best_; }
  std::optional<double> last_window_mean() const { return last_; }

 private:
  DivergenceGuardOptions options_;
  double sum_ = 0;
  int64_t count_ = 0;
  std::optional<double> best_, last_;
};

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_DIVERGENCE_GUARD_H_

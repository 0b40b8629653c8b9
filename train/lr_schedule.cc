#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace vidserve::train {

double LearningRateAt(int64_t step, int64_t total_steps, const OptimizerOptions& options) {
  const double peak = options.learning_rate;
  const int64_t warmup = options.warmup_steps;
  // (step + 1) so the first step already moves the weights.
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double floor = peak * options.min_learning_rate_ratio;
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup);
  const double progress =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(decay_steps), 0.0, 1.0);
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace vidserve::train

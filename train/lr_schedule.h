// The learning-rate schedule: linear warm-up to the peak, then a cosine decay to
// min_learning_rate_ratio x peak at total_steps (held there after). A pure function of the
// step, so a resumed run continues the exact curve.
#ifndef VIDSERVE_TRAIN_LR_SCHEDULE_H_
#define VIDSERVE_TRAIN_LR_SCHEDULE_H_

#include <cstdint>

#include "train/train_options.h"

namespace vidserve::train {

// Learning rate for optimiser step `step` (0-based) of `total_steps`.
double LearningRateAt(int64_t step, int64_t total_steps, const OptimizerOptions& options);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_LR_SCHEDULE_H_

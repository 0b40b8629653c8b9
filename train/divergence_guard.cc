#include "train/divergence_guard.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vidserve::train {

absl::Status ValidateDivergenceGuardOptions(const DivergenceGuardOptions& o) {
  if (o.window < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("divergence_window must be >= 1 step, got ", o.window));
  }
  if (!(o.healthy_factor >= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("divergence_healthy_factor must be >= 1, got ", o.healthy_factor));
  }
  if (!(o.stop_factor == 0 || o.stop_factor > o.healthy_factor)) {
    return absl::InvalidArgumentError(
        absl::StrCat("divergence_factor must be 0 (off) or > divergence_healthy_factor (",
                     o.healthy_factor, "), got ", o.stop_factor));
  }
  return absl::OkStatus();
}

DivergenceGuard::DivergenceGuard(const DivergenceGuardOptions& options) : options_(options) {}

DivergenceGuard::Verdict DivergenceGuard::Observe(double loss) {
  sum_ += loss;
  if (++count_ < options_.window) return Verdict::kInWindow;
  const double mean = sum_ / static_cast<double>(count_);
  sum_ = 0;
  count_ = 0;
  last_ = mean;
  best_ = best_.has_value() ? std::min(*best_, mean) : mean;
  if (options_.stop_factor > 0 && mean > options_.stop_factor * *best_) return Verdict::kDiverged;
  return mean <= options_.healthy_factor * *best_ ? Verdict::kHealthy : Verdict::kUneasy;
}

}  // namespace vidserve::train

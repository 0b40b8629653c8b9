#include "eval/paired_comparison.h"

#include <algorithm>
#include <cmath>

namespace vidserve::eval {

double McNemarExactPValue(int gained, int lost) {
  const int n = gained + lost;
  if (n == 0) return 1.0;
  const int k = std::min(gained, lost);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n stays finite.
  double tail = 0.0;
  for (int i = 0; i <= k; ++i) {
    const double log_term = std::lgamma(n + 1.0) - std::lgamma(i + 1.0) -
                            std::lgamma(n - i + 1.0) - n * std::log(2.0);
    tail += std::exp(log_term);
  }
  return std::min(1.0, 2.0 * tail);
}

PairedComparison ComparePaired(const std::vector<std::optional<bool>>& baseline,
                               const std::vector<std::optional<bool>>& candidate) {
  PairedComparison result;
  const size_t n = std::max(baseline.size(), candidate.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= baseline.size() || i >= candidate.size() || !baseline[i] || !candidate[i]) {
      ++result.unpaired;
      continue;
    }
    const bool before = *baseline[i], after = *candidate[i];
    if (before && after) ++result.both_right;
    if (!before && after) ++result.gained;
    if (before && !after) ++result.lost;
    if (!before && !after) ++result.both_wrong;
  }
  result.p_value = McNemarExactPValue(result.gained, result.lost);
  return result;
}

}  // namespace vidserve::eval

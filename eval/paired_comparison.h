// Paired comparison of two models scored on the same prompts and seeds (vidserve-bench
// quality with several checkpoints): per attribute, how many clips one got right that the
// other missed, and the exact McNemar test of whether that difference could be chance.
// Two accuracies of 66% and 59% on 256 prompts differ by 18 clips; whether that is a real
// gain depends on how many clips changed in each direction, which the accuracies alone
// do not show.
//
// Thread-safety: pure functions.
#ifndef VIDSERVE_EVAL_PAIRED_COMPARISON_H_
#define VIDSERVE_EVAL_PAIRED_COMPARISON_H_

#include <optional>
#include <vector>

namespace vidserve::eval {

struct PairedComparison {
  int both_right = 0;
  int gained = 0;  // wrong in the baseline, right in the candidate
  int lost = 0;    // right in the baseline, wrong in the candidate
  int both_wrong = 0;
  int unpaired = 0;  // scored in one and not the other, or past the shorter list
  // Two-sided exact McNemar p-value: the binomial probability, at 1/2 per discordant
  // clip, of a split at least as uneven as gained : lost. 1 when nothing changed.
  double p_value = 1.0;
  int net() const { return gained - lost; }
};

// The exact two-sided McNemar p-value for `gained` and `lost` discordant pairs.
double McNemarExactPValue(int gained, int lost);

// Compares per-clip outcomes in order (nullopt = attribute not scored for that clip).
PairedComparison ComparePaired(const std::vector<std::optional<bool>>& baseline,
                               const std::vector<std::optional<bool>>& candidate);

}  // namespace vidserve::eval

#endif  // VIDSERVE_EVAL_PAIRED_COMPARISON_H_

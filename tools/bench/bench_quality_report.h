// The output of `vidserve-bench quality`: the tables it prints and the JSON it writes, from
// the results of bench_quality_measure.h. Keys of the JSON are listed where it is assembled
// (bench_quality.cc for the run, CheckpointJson here for one checkpoint).
//
// Thread-safety: pure functions of their arguments (printing goes to stdout).
#ifndef VIDSERVE_TOOLS_BENCH_BENCH_QUALITY_REPORT_H_
#define VIDSERVE_TOOLS_BENCH_BENCH_QUALITY_REPORT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/prompt_following_tally.h"
#include "tools/bench/bench_quality_measure.h"

namespace vidserve::bench {

// "75.0% (48/64)", or "n/a" when nothing was scored.
std::string PercentText(const eval::Accuracy& accuracy);

nlohmann::json TallyJson(const eval::PromptFollowingTally& tally);
nlohmann::json CheckpointJson(const CheckpointResult& result, const QualitySettings& settings,
                              DecoderKind decoder, const std::vector<HeldOutClip>& held_out);

void PrintCheckpoint(const CheckpointResult& result, const QualitySettings& settings,
                     DecoderKind decoder, const eval::PromptFollowingTally& ground_truth);
// One row per checkpoint, then the key from row number to checkpoint, then each later
// checkpoint paired with the first on the same prompts and seeds (eval/paired_comparison.h).
void PrintComparison(const std::vector<CheckpointResult>& results);
// {"colour"|"shape"|"motion": {gained, lost, both_right, both_wrong, net, p_value}}: the
// candidate against the baseline, clip by clip.
nlohmann::json PairedJson(const CheckpointResult& baseline, const CheckpointResult& candidate);

}  // namespace vidserve::bench

#endif  // VIDSERVE_TOOLS_BENCH_BENCH_QUALITY_REPORT_H_

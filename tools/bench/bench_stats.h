// Small measurement helpers shared by the vidserve-bench subcommands: wall-clock timing,
// order statistics, process memory, machine description. No torch here.
#ifndef VIDSERVE_TOOLS_BENCH_BENCH_STATS_H_
#define VIDSERVE_TOOLS_BENCH_BENCH_STATS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vidserve::bench {

// Seconds since an arbitrary epoch, monotonic.
inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// q in [0, 1]; linear interpolation between order statistics. Empty input -> 0.
double Quantile(std::vector<double> values, double q);
inline double Median(const std::vector<double>& values) { return Quantile(values, 0.5); }

// Current and peak resident set size of this process, bytes (from /proc/self/status).
int64_t ResidentBytes();
int64_t PeakResidentBytes();
// Restarts the peak RSS from the current RSS (writes "5" to /proc/self/clear_refs). Returns
// false where the kernel does not allow it; PeakResidentBytes() then keeps its old peak.
bool ResetPeakResidentBytes();

// "2 cores, Intel(R) Xeon(R) ... , 23 GiB" — what BENCHMARKS.md records as the machine.
std::string DescribeCpuMachine();
// UTC date and time, ISO 8601.
std::string UtcNow();

// Parses "1024,2048,4096" into integers; empty on error.
std::vector<int64_t> ParseIntList(const std::string& text);
// Splits "a,b,c" at commas, dropping empty items.
std::vector<std::string> SplitList(const std::string& text);

}  // namespace vidserve::bench

#endif  // VIDSERVE_TOOLS_BENCH_BENCH_STATS_H_

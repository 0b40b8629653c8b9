// vidserve-bench: measures speed and memory. Numbers in BENCHMARKS.md come from here.
//   vidserve-bench serve  [--json FILE] ...   Generate latency, Encode/Decode throughput
//   vidserve-bench vae    [--json FILE] ...   full vs thin decoder
//   vidserve-bench mixers [--json FILE] ...   token mixer time/memory vs sequence length
//   vidserve-bench quality [--json FILE] ...  reconstruction, prompt following per checkpoint
//   vidserve-bench detect FILE.y4m ...       the quality detector on clip files
#include <cstdio>
#include <cstring>

#include "common/heap_retention.h"
#include "tools/bench/bench_commands.h"

int main(int argc, char** argv) {
  // As the server does (server/main.cc), so that Decode and Encode are timed as served.
  vidserve::RetainFreedHeapMemory();
  const char* usage = "usage: vidserve-bench <serve|vae|mixers|quality|detect> [flags]  (--help on each)\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  const char* command = argv[1];
  if (std::strcmp(command, "serve") == 0) return vidserve::bench::RunServeBench(argc - 1, argv + 1);
  if (std::strcmp(command, "vae") == 0) return vidserve::bench::RunVaeBench(argc - 1, argv + 1);
  if (std::strcmp(command, "mixers") == 0) return vidserve::bench::RunMixersBench(argc - 1, argv + 1);
  if (std::strcmp(command, "quality") == 0) return vidserve::bench::RunQualityBench(argc - 1, argv + 1);
  if (std::strcmp(command, "detect") == 0) return vidserve::bench::RunDetectBench(argc - 1, argv + 1);
  std::fprintf(stderr, "vidserve-bench: unknown command \"%s\"\n%s", command, usage);
  return 2;
}

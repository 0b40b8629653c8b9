// Subcommands of vidserve-bench. Each parses its own flags from argv (argv[0] is the
// subcommand) and returns a process exit code. Results print as a table and, with
// --json FILE, as JSON for BENCHMARKS.md.
#ifndef VIDSERVE_TOOLS_BENCH_BENCH_COMMANDS_H_
#define VIDSERVE_TOOLS_BENCH_BENCH_COMMANDS_H_

namespace vidserve::bench {

int RunServeBench(int argc, char** argv);    // bench_serve.cc: end-to-end gRPC load
int RunVaeBench(int argc, char** argv);      // bench_vae.cc: full vs thin decoder
int RunMixersBench(int argc, char** argv);   // bench_mixers.cc: token mixer scaling
int RunQualityBench(int argc, char** argv);  // bench_quality.cc: model quality on held-out data
int RunDetectBench(int argc, char** argv);   // bench_detect.cc: the quality detector on clip files

}  // namespace vidserve::bench

#endif  // VIDSERVE_TOOLS_BENCH_BENCH_COMMANDS_H_

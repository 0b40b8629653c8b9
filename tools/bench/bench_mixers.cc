// vidserve-bench mixers: time and peak memory of the causal token-mixer cores (softmax
// SDPA, chunkwise Fenwick log-linear, chunkwise MesaNet) on q, k, v [1, H, T, Dh], all in
// one run; projections are excluded (they cost the same for every mixer). Per mixer it fits
// the scaling exponent of time in T (log-log least squares over the upper half of the
// sequence lengths) and prints the O(T^2) vs O(T log T) operation counts at T = 16..128
// beside the times measured there.
//
// Peak memory: on CUDA the caching allocator's peak above the bytes allocated before the
// call (needs VIDSERVE_HAVE_CUDA at compile time); on CPU the rise of the process peak RSS
// (VmHWM, reset through /proc/self/clear_refs before each measured call) above the RSS
// before it, with glibc told to serve every block over 256 KiB by mmap during that call so
// freed tensors leave the RSS and new ones enter it; where the reset is refused the CPU
// column is empty. Timed calls run with glibc's mmap and trim thresholds at
// --cpu-mmap-threshold-mib (default 1024), so freed tensors stay in the heap for the next
// call: at glibc's dynamic ceiling of 32 MiB every larger tensor is fresh, page-faulted
// memory on each call, which made MesaNet at T = 16K 3.7x slower here (8.5 s vs 2.3 s;
// its CG temporaries are 33 MB). A CPU server wants the same setting.
//
// --cuda-graph 1 (CUDA builds, --device cuda only; ignored with a note elsewhere): after the
// eager timing of each mixer and T (whose warm-up also fills the log-linear level-index
// cache), one forward call on the same static inputs is captured into an at::cuda::CUDAGraph
// on a side stream and graph.replay() + synchronize is timed over the same repeats. This
// removes the host-side dispatch of the mixers' many small ops, which is what bounds
// log-linear attention and MesaNet at short T on a GPU. A capture that fails (a host sync
// inside the call, an uncapturable library call) is reported as "graph: n/a (reason)" and
// the run goes on. Eager and graph times get their own exponent fits and break-even T vs
// softmax (the first measured T at which the mixer is faster than softmax).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef VIDSERVE_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include "model/cuda/cuda_graph_cache.h"
#endif

#include "model/mixers/loglinear_attention.h"
#include "model/mixers/mesa_net.h"
#include "model/mixers/softmax_attention.h"
#include "tools/bench/bench_commands.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/bench_stats.h"

namespace vidserve::bench {
namespace {

struct MixerInputs {
  torch::Tensor q, k, v, lambda, log_forget, input_gate, mesa_lambda;
};

struct Settings {
  int64_t heads = 8, head_dim = 64, repeats = 5, warmup = 1;
  int64_t loglinear_chunk = 64, mesa_chunk = 64, mesa_cg_steps = 16;
  double max_softmax_gib = 12;
  int64_t timed_mmap_threshold_mib = 1024;
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat;
  bool cuda_graph = false;  // also time CUDA-graph replay (CUDA only)
};

struct Measurement {
  std::string mixer;
  int64_t seq = 0;
  bool ran = false;
  std::string skipped_because;
  double median_ms = 0;
  std::vector<double> times_ms;
  int64_t peak_bytes = -1;  // -1: not measured
  // CUDA-graph replay of one captured call (--cuda-graph 1).
  bool graph_tried = false, graph_ran = false;
  std::string graph_failure;  // why capture or replay failed
  double graph_median_ms = 0;
  std::vector<double> graph_times_ms;
  double graph_max_abs_diff = std::nan("");  // replayed output vs an eager call
};

MixerInputs MakeInputs(int64_t seq, const Settings& settings) {
  torch::manual_seed(seq);
  namespace F = torch::nn::functional;
  const auto options = torch::TensorOptions().device(settings.device);
  const int64_t h = settings.heads, d = settings.head_dim;
  MixerInputs in;
  auto unit = [&](torch::Tensor x) { return F::normalize(x, F::NormalizeFuncOptions().dim(-1)); };
  in.q = unit(torch::randn({1, h, seq, d}, options)).to(settings.dtype);
  in.k = unit(torch::randn({1, h, seq, d}, options)).to(settings.dtype);
  in.v = torch::randn({1, h, seq, d}, options).to(settings.dtype);
  in.lambda =
      F::softplus(torch::randn({1, h, seq, FenwickNumLevels(seq)}, options)).to(settings.dtype);
  in.log_forget = torch::log_sigmoid(torch::randn({1, h, seq}, options) + 3);
  in.input_gate = torch::sigmoid(torch::randn({1, h, seq}, options));
  in.mesa_lambda = 0.5 + torch::rand({h, d}, options);
  return in;
}

void Synchronize(const Settings& settings) {
  if (settings.device.is_cuda()) torch::cuda::synchronize();
}

// Returns false when glibc refuses the values.
bool SetTimedMallocThresholds(const Settings& settings) {
#ifdef __GLIBC__
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(settings.timed_mmap_threshold_mib << 20)) ==
             1 &&
         mallopt(M_TRIM_THRESHOLD, static_cast<int>(settings.timed_mmap_threshold_mib << 20)) == 1;
#else
  return true;
#endif
}

// Peak bytes one call adds on top of what was held before it; -1 if not measurable.
int64_t MeasurePeak(const std::function<void()>& call, const Settings& settings) {
  if (settings.device.is_cuda()) {
#ifdef VIDSERVE_HAVE_CUDA
    namespace alloc = c10::cuda::CUDACachingAllocator;
    const auto index = settings.device.has_index() ? settings.device.index() : 0;
    Synchronize(settings);
    alloc::resetPeakStats(index);
    // Index 0 of each stat array is the aggregate over pool kinds in every LibTorch version.
    const int64_t before = alloc::getDeviceStats(index).allocated_bytes[0].current;
    call();
    Synchronize(settings);
    return alloc::getDeviceStats(index).allocated_bytes[0].peak - before;
#else
    call();
    return -1;
#endif
  }
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  mallopt(M_TRIM_THRESHOLD, 256 << 10);
  malloc_trim(0);
#endif
  int64_t peak = -1;
  if (ResetPeakResidentBytes()) {
    const int64_t before = ResidentBytes();
    call();
    peak = PeakResidentBytes() - before;
  } else {
    call();
  }
#ifdef __GLIBC__
#endif
  SetTimedMallocThresholds(settings);
  return peak;
}

Measurement Measure(const std::string& mixer, int64_t seq, const Settings& settings,
                    const std::function<torch::Tensor()>& run, int64_t repeats) {
  Measurement m;
  m.mixer = mixer;
  m.seq = seq;
  for (int64_t i = 0; i < settings.warmup; ++i) run();
  Synchronize(settings);
  m.peak_bytes = MeasurePeak([&] { run(); }, settings);
  for (int64_t i = 0; i < repeats; ++i) {
    const double start = NowSeconds();
    run();
    Synchronize(settings);
    m.times_ms.push_back((NowSeconds() - start) * 1e3);
  }
  m.median_ms = Median(m.times_ms);
  m.ran = true;
  return m;
}

// First line of an exception message (c10::Error appends a backtrace), at most 200 chars.
std::string ShortReason(const char* what) {
  std::string text = what == nullptr ? "" : what;
  const size_t end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  if (text.size() > 200) text = text.substr(0, 197) + "...";
  return text.empty() ? "unknown error" : text;
}


// Captures one call of `run` into a CUDA graph on a side stream (static inputs: `run`
// reads the same tensors every time) and times replay + synchronize over `repeats`. Runs
// after Measure, so the warm-up there has filled every lazily built cache. Never throws:
// a failure is recorded in m->graph_failure.
void MeasureGraph(Measurement* m, const Settings& settings,
                  const std::function<torch::Tensor()>& run, int64_t repeats) {
  m->graph_tried = true;
#ifdef VIDSERVE_HAVE_CUDA
  try {
    const auto index = static_cast<c10::DeviceIndex>(
        settings.device.has_index() ? settings.device.index() : c10::cuda::current_device());
    torch::Tensor eager = run();
    Synchronize(settings);
    // Declared before `out`, so the output (a block of the graph's private pool) is freed
    // before the graph releases that pool.
    at::cuda::CUDAGraph graph;
    torch::Tensor out;
    {
      c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
      c10::cuda::CUDAStreamGuard guard(stream);
      // One call on the capture stream first: per-stream library handles and workspaces
      // (cuBLAS) are created outside the capture.
      run();
      stream.synchronize();
      graph.capture_begin();
      try {
        out = run();
        graph.capture_end();
      } catch (const std::exception& e) {
        out = torch::Tensor();
        AbandonCudaGraphCapture(graph, stream);
        m->graph_failure = "capture failed: " + ShortReason(e.what());
        return;
      }
    }
    graph.replay();
    Synchronize(settings);
    m->graph_max_abs_diff =
        (out.to(torch::kFloat) - eager.to(torch::kFloat)).abs().max().item<double>();
    for (int64_t i = 0; i < repeats; ++i) {
      const double start = NowSeconds();
      graph.replay();
      Synchronize(settings);
      m->graph_times_ms.push_back((NowSeconds() - start) * 1e3);
    }
    m->graph_median_ms = Median(m->graph_times_ms);
    m->graph_ran = true;
  } catch (const std::exception& e) {
    (void)cudaGetLastError();
    m->graph_failure = ShortReason(e.what());
    m->graph_times_ms.clear();
  }
#else
  (void)settings;
  (void)run;
  (void)repeats;
  m->graph_failure = "built without CUDA";
#endif
}

std::vector<Measurement> MeasureAll(int64_t seq, const Settings& settings,
                                    const std::vector<std::string>& mixers, int64_t repeats) {
  torch::NoGradGuard no_grad;
  auto in = MakeInputs(seq, settings);
  std::vector<Measurement> out;
  for (const auto& mixer : mixers) {
    if (mixer == "softmax") {
      // LibTorch 1.x has no fused SDPA: scores, masked scores and softmax are materialised.
      const double score_gib =
          3.0 * settings.heads * static_cast<double>(seq) * seq * in.q.element_size() / (1 << 30);
      if (TORCH_VERSION_MAJOR < 2 && score_gib > settings.max_softmax_gib) {
        Measurement skipped;
        skipped.mixer = mixer;
        skipped.seq = seq;
        char reason[96];
        std::snprintf(reason, sizeof(reason), "needs ~%.1f GiB of scores > --max-softmax-gib %.1f",
                      score_gib, settings.max_softmax_gib);
        skipped.skipped_because = reason;
        out.push_back(skipped);
        continue;
      }
    }
    std::function<torch::Tensor()> run;
    if (mixer == "softmax") {
      run = [&] { return ScaledDotProductAttention(in.q, in.k, in.v, /*causal=*/true); };
    } else if (mixer == "loglinear") {
      run = [&] {
        return LogLinearAttentionChunkwise(in.q, in.k, in.v, in.lambda, settings.loglinear_chunk);
      };
    } else if (mixer == "loglinear_torch") {
      // The LibTorch-only chunkwise path (what "loglinear" runs without the fused kernels).
      run = [&] {
        return LogLinearAttentionChunkwiseTorch(in.q, in.k, in.v, in.lambda,
                                                settings.loglinear_chunk);
      };
    } else if (mixer == "mesa") {
      run = [&] {
        return MesaNetChunkwise(in.q, in.k, in.v, in.log_forget, in.input_gate, in.mesa_lambda,
                                settings.mesa_chunk, settings.mesa_cg_steps);
      };
    } else {
      continue;
    }
    Measurement m = Measure(mixer, seq, settings, run, repeats);
    if (settings.cuda_graph) MeasureGraph(&m, settings, run, repeats);
    out.push_back(std::move(m));
  }
  return out;
}

// Least-squares slope of log(time) on log(T) over the upper half of the measured lengths.
struct ExponentFit {
  double exponent = std::nan("");
  int64_t from_seq = 0, to_seq = 0, points = 0;
};

// `graph`: fit the CUDA-graph replay times instead of the eager ones.
ExponentFit FitExponent(const std::vector<Measurement>& all, const std::string& mixer,
                        bool graph = false) {
  std::vector<std::pair<double, double>> points;
  for (const auto& m : all) {
    if (m.mixer != mixer || !m.ran) continue;
    if (!graph) {
      points.emplace_back(m.seq, m.median_ms);
    } else if (m.graph_ran) {
      points.emplace_back(m.seq, m.graph_median_ms);
    }
  }
  std::sort(points.begin(), points.end());
  ExponentFit fit;
  if (points.size() < 2) return fit;
  const size_t first = std::min(points.size() / 2, points.size() - 2);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(points.size() - first);
  for (size_t i = first; i < points.size(); ++i) {
    const double x = std::log(points[i].first), y = std::log(points[i].second);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  fit.exponent = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  fit.from_seq = static_cast<int64_t>(points[first].first);
  fit.to_seq = static_cast<int64_t>(points.back().first);
  fit.points = static_cast<int64_t>(n);
  return fit;
}

// Break-even vs softmax: the first measured T at which `mixer` is faster than softmax
// (both measured at that T, eager or graph times); -1 if at none. `stays_faster`: faster
// at every measured T from there on.
struct BreakEven {
  int64_t seq = -1;
  bool stays_faster = false;
  int64_t compared = 0;  // lengths at which both were measured
};

BreakEven FindBreakEven(const std::vector<Measurement>& all, const std::string& mixer,
                        bool graph) {
  auto time_of = [&](const Measurement& m, double* ms) {
    if (!m.ran || (graph && !m.graph_ran)) return false;
    *ms = graph ? m.graph_median_ms : m.median_ms;
    return true;
  };
  std::vector<std::pair<int64_t, bool>> faster;  // (T, mixer faster than softmax)
  for (const auto& m : all) {
    double mixer_ms = 0, softmax_ms = 0;
    if (m.mixer != mixer || !time_of(m, &mixer_ms)) continue;
    for (const auto& s : all) {
      if (s.mixer == "softmax" && s.seq == m.seq && time_of(s, &softmax_ms)) {
        faster.emplace_back(m.seq, mixer_ms < softmax_ms);
        break;
      }
    }
  }
  std::sort(faster.begin(), faster.end());
  BreakEven result;
  result.compared = static_cast<int64_t>(faster.size());
  for (size_t i = 0; i < faster.size(); ++i) {
    if (!faster[i].second) continue;
    result.seq = faster[i].first;
    result.stays_faster = std::all_of(faster.begin() + i, faster.end(),
                                      [](const std::pair<int64_t, bool>& f) { return f.second; });
    break;
  }
  return result;
}

nlohmann::json ToJson(const Measurement& m) {
  nlohmann::json j = {{"mixer", m.mixer}, {"seq", m.seq}, {"ran", m.ran}};
  if (!m.ran) {
    j["skipped_because"] = m.skipped_because;
    return j;
  }
  j["median_ms"] = m.median_ms;
  j["times_ms"] = m.times_ms;
  j["peak_bytes"] = m.peak_bytes < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.peak_bytes);
  if (m.graph_tried) {
    j["graph_ran"] = m.graph_ran;
    if (m.graph_ran) {
      j["graph_median_ms"] = m.graph_median_ms;
      j["graph_times_ms"] = m.graph_times_ms;
      j["graph_max_abs_diff_vs_eager"] = m.graph_max_abs_diff;
    } else {
      j["graph_median_ms"] = nullptr;
      j["graph_failure"] = m.graph_failure;
    }
  }
  return j;
}

std::string FormatMs(const Measurement* m, bool graph = false) {
  if (m == nullptr || !m->ran || (graph && !m->graph_ran)) return graph ? "n/a" : "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", graph ? m->graph_median_ms : m->median_ms);
  return buffer;
}

}  // namespace

int RunMixersBench(int argc, char** argv) {
  BenchFlags flags;
  if (!flags.Parse(argc, argv)) return 2;
  Settings settings;
  const std::string device = flags.String("device", "cpu");
  const std::string seq_text = flags.String("seq", "1024,2048,4096,8192,16384");
  const std::string mixers_text = flags.String("mixers", "softmax,loglinear,mesa");
  const std::string dtype = flags.String("dtype", "fp32");
  settings.heads = flags.Int("heads", 8);
  settings.head_dim = flags.Int("head-dim", 64);
  settings.repeats = flags.Int("repeats", 5);
  settings.warmup = flags.Int("warmup", 1);
  settings.loglinear_chunk = flags.Int("chunk", 64);
  settings.mesa_chunk = flags.Int("mesa-chunk", 64);
  settings.mesa_cg_steps = flags.Int("cg-steps", 16);
  settings.max_softmax_gib = flags.Double("max-softmax-gib", 12);
  settings.timed_mmap_threshold_mib = flags.Int("cpu-mmap-threshold-mib", 1024);
  const int64_t threads = flags.Int("threads", 0);
  const bool op_table = flags.Int("op-table", 1) != 0;
  const bool cuda_graph_asked = flags.Int("cuda-graph", 0) != 0;
  const std::string json_path = flags.String("json", "");
  if (!flags.CheckAllUsed("mixers")) return 2;

  const std::vector<int64_t> seqs = ParseIntList(seq_text);
  const std::vector<std::string> mixers = SplitList(mixers_text);
  if (seqs.empty() || mixers.empty() || settings.repeats < 1) {
    std::fprintf(stderr,
                 "vidserve-bench mixers: need --seq N[,N...], --mixers and --repeats >= 1\n");
    return 2;
  }
  for (const auto& mixer : mixers) {
    if (mixer != "softmax" && mixer != "loglinear" && mixer != "loglinear_torch" &&
        mixer != "mesa") {
      std::fprintf(stderr,
                   "vidserve-bench mixers: unknown mixer \"%s\" (softmax, loglinear, "
                   "loglinear_torch, mesa)\n",
                   mixer.c_str());
      return 2;
    }
  }
  if (dtype == "fp32") {
    settings.dtype = torch::kFloat;
  } else if (dtype == "bf16") {
    settings.dtype = torch::kBFloat16;
  } else {
    std::fprintf(stderr, "vidserve-bench mixers: --dtype must be fp32 or bf16, got \"%s\"\n",
                 dtype.c_str());
    return 2;
  }
  if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      std::fprintf(stderr, "vidserve-bench mixers: --device %s but CUDA is not available\n",
                   device.c_str());
      return 1;
    }
  } else if (device != "cpu") {
    std::fprintf(stderr, "vidserve-bench mixers: --device must be cpu or cuda[:N], got \"%s\"\n",
                 device.c_str());
    return 2;
  }
  settings.device = torch::Device(device);
  if (cuda_graph_asked) {
#ifdef VIDSERVE_HAVE_CUDA
    settings.cuda_graph = settings.device.is_cuda();
    if (!settings.cuda_graph) {
      std::printf("note: --cuda-graph 1 ignored on --device %s (CUDA graphs need a CUDA device)\n",
                  device.c_str());
    }
#else
    std::printf("note: --cuda-graph 1 ignored (this build has no CUDA: VIDSERVE_HAVE_CUDA unset)\n");
#endif
  }
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  if (settings.timed_mmap_threshold_mib <= 0 || settings.timed_mmap_threshold_mib > 1024 ||
      !SetTimedMallocThresholds(settings)) {
    std::fprintf(stderr,
                 "vidserve-bench mixers: bad --cpu-mmap-threshold-mib %ld "
                 "(allowed 1..1024)\n",
                 settings.timed_mmap_threshold_mib);
    return 2;
  }
  std::string machine = DescribeCpuMachine();
  if (settings.device.is_cuda()) {
    machine = device;
#ifdef VIDSERVE_HAVE_CUDA
    const auto index = settings.device.has_index() ? settings.device.index() : 0;
    machine = at::cuda::getDeviceProperties(index)->name;
#endif
  }
  const char* peak_kind =
      settings.device.is_cuda() ? "cuda_allocator_peak_delta" : "process_peak_rss_delta";

  std::printf(
      "mixers: %s, %s, B=1 H=%ld Dh=%ld, loglinear chunk %ld, mesa chunk %ld cg %ld, "
      "%ld threads, LibTorch %s\n",
      machine.c_str(), dtype.c_str(), settings.heads, settings.head_dim, settings.loglinear_chunk,
      settings.mesa_chunk, settings.mesa_cg_steps, static_cast<int64_t>(at::get_num_threads()),
      TORCH_VERSION);
  if (settings.cuda_graph) {
    std::printf("%-10s %8s %12s %12s %8s %12s\n", "mixer", "T", "median_ms", "graph_ms", "speedup",
                "peak_MiB");
  } else {
    std::printf("%-10s %8s %12s %12s\n", "mixer", "T", "median_ms", "peak_MiB");
  }
  std::vector<Measurement> results;
  for (int64_t seq : seqs) {
    for (auto& m : MeasureAll(seq, settings, mixers, settings.repeats)) {
      char peak[32] = "n/a";
      if (m.peak_bytes >= 0) std::snprintf(peak, sizeof(peak), "%.1f", m.peak_bytes / 1048576.0);
      if (!m.ran) {
        std::printf("%-10s %8ld %12s", m.mixer.c_str(), m.seq, "-");
        if (settings.cuda_graph) std::printf(" %12s %8s", "-", "-");
        std::printf(" %12s  (skipped: %s)\n", "-", m.skipped_because.c_str());
      } else if (!settings.cuda_graph) {
        std::printf("%-10s %8ld %12.3f %12s\n", m.mixer.c_str(), m.seq, m.median_ms, peak);
      } else if (m.graph_ran) {
        std::printf("%-10s %8ld %12.3f %12.3f %7.2fx %12s\n", m.mixer.c_str(), m.seq, m.median_ms,
                    m.graph_median_ms, m.median_ms / m.graph_median_ms, peak);
      } else {
        std::printf("%-10s %8ld %12.3f %12s %8s %12s  (graph: n/a (%s))\n", m.mixer.c_str(), m.seq,
                    m.median_ms, "n/a", "-", peak, m.graph_failure.c_str());
      }
      std::fflush(stdout);
      results.push_back(std::move(m));
    }
  }

  auto fit_all = [&](bool graph) {
    nlohmann::json exponents = nlohmann::json::object();
    std::printf("\nscaling exponent%s (time ~ T^p, least squares over the upper half of T):\n",
                graph ? ", CUDA-graph replay" : (settings.cuda_graph ? ", eager" : ""));
    for (const auto& mixer : mixers) {
      const ExponentFit fit = FitExponent(results, mixer, graph);
      if (fit.points < 2) {
        std::printf("  %-10s n/a (fewer than 2 lengths measured)\n", mixer.c_str());
        exponents[mixer] = nullptr;
        continue;
      }
      std::printf("  %-10s p = %.3f over T = %ld..%ld (%ld points)\n", mixer.c_str(), fit.exponent,
                  fit.from_seq, fit.to_seq, fit.points);
      exponents[mixer] = {{"exponent", fit.exponent},
                          {"from_seq", fit.from_seq},
                          {"to_seq", fit.to_seq},
                          {"points", fit.points}};
    }
    return exponents;
  };
  const nlohmann::json exponents = fit_all(false);
  const nlohmann::json graph_exponents =
      settings.cuda_graph ? fit_all(true) : nlohmann::json(nullptr);

  // Break-even T vs softmax, eager and (in graph mode) graph replay.
  nlohmann::json break_even = nlohmann::json::object();
  const bool have_softmax = std::find(mixers.begin(), mixers.end(), "softmax") != mixers.end();
  if (have_softmax && mixers.size() > 1) {
    std::printf("\nbreak-even vs softmax (first measured T at which the mixer is faster):\n");
    for (bool graph : {false, true}) {
      if (graph && !settings.cuda_graph) continue;
      nlohmann::json per_mixer = nlohmann::json::object();
      for (const auto& mixer : mixers) {
        if (mixer == "softmax") continue;
        const BreakEven be = FindBreakEven(results, mixer, graph);
        const char* mode = graph ? "graph" : "eager";
        if (be.compared == 0) {
          std::printf("  %-5s %-10s n/a (no length with both timed)\n", mode, mixer.c_str());
          per_mixer[mixer] = nullptr;
        } else if (be.seq < 0) {
          std::printf("  %-5s %-10s none: slower than softmax at every measured T\n", mode,
                      mixer.c_str());
          per_mixer[mixer] = {{"seq", nullptr}, {"compared", be.compared}};
        } else {
          std::printf("  %-5s %-10s T = %ld%s\n", mode, mixer.c_str(), be.seq,
                      be.stays_faster ? " (faster at every longer T measured)"
                                      : " (but slower again at some longer T)");
          per_mixer[mixer] = {
              {"seq", be.seq}, {"stays_faster", be.stays_faster}, {"compared", be.compared}};
        }
      }
      break_even[graph ? "graph" : "eager"] = per_mixer;
    }
  }

  // Pair counts: softmax scores every causal (t, s) pair; log-linear's recurrent form reads
  // ceil(log2 T) + 1 states per query (the seed report's O(T^2) vs O(T log T) table).
  nlohmann::json op_rows = nlohmann::json::array();
  if (op_table) {
    std::printf("\noperation counts vs measured (repeats %ld):\n", settings.repeats * 4);
    std::printf("%6s %10s %12s %10s", "T", "T^2", "T*log2(T)", "ratio");
    for (const auto& mixer : mixers) std::printf(" %14s", (mixer + "_ms").c_str());
    if (settings.cuda_graph) {
      for (const auto& mixer : mixers) std::printf(" %16s", (mixer + "_graph_ms").c_str());
    }
    std::printf("\n");
    for (int64_t seq : {16, 32, 64, 128}) {
      const double quadratic = static_cast<double>(seq) * seq;
      const double loglinear = seq * std::log2(static_cast<double>(seq));
      auto small = MeasureAll(seq, settings, mixers, settings.repeats * 4);
      std::printf("%6ld %10.0f %12.0f %10.2f", seq, quadratic, loglinear, quadratic / loglinear);
      nlohmann::json row = {{"seq", seq}, {"t_squared", quadratic}, {"t_log2_t", loglinear}};
      for (const auto& m : small) {
        std::printf(" %14s", FormatMs(&m).c_str());
        row[m.mixer + "_ms"] = m.ran ? nlohmann::json(m.median_ms) : nlohmann::json(nullptr);
      }
      if (settings.cuda_graph) {
        for (const auto& m : small) {
          std::printf(" %16s", FormatMs(&m, /*graph=*/true).c_str());
          row[m.mixer + "_graph_ms"] =
              m.graph_ran ? nlohmann::json(m.graph_median_ms) : nlohmann::json(nullptr);
        }
      }
      std::printf("\n");
      op_rows.push_back(row);
    }
  }

  if (!json_path.empty()) {
    nlohmann::json results_json = nlohmann::json::array();
    for (const auto& m : results) results_json.push_back(ToJson(m));
    nlohmann::json doc = {
        {"command", "mixers"},
        {"date_utc", UtcNow()},
        {"machine", machine},
        {"device", device},
        {"dtype", dtype},
        {"libtorch", TORCH_VERSION},
        {"threads", at::get_num_threads()},
        {"batch", 1},
        {"heads", settings.heads},
        {"head_dim", settings.head_dim},
        {"causal", true},
        {"loglinear_chunk", settings.loglinear_chunk},
        {"mesa_chunk", settings.mesa_chunk},
        {"mesa_cg_steps", settings.mesa_cg_steps},
        {"repeats", settings.repeats},
        {"warmup", settings.warmup},
        {"timed", "mixer core only (q, k, v given), median of repeats after warm-up"},
        {"peak_memory_kind", peak_kind},
        {"results", results_json},
        {"scaling_exponents", exponents},
        {"cuda_graph", settings.cuda_graph},
        {"graph_timed",
         settings.cuda_graph
             ? nlohmann::json("one call captured into an at::cuda::CUDAGraph on a side stream "
                              "after the eager timing; median of replay + synchronize")
             : nlohmann::json(nullptr)},
        {"scaling_exponents_graph", graph_exponents},
        {"break_even_vs_softmax", break_even},
        {"operation_counts", op_rows}};
    std::ofstream out(json_path);
    if (!out) {
      std::fprintf(stderr, "vidserve-bench mixers: cannot write %s\n", json_path.c_str());
      return 1;
    }
    out << doc.dump(2) << "\n";
    std::printf("\nwrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace vidserve::bench

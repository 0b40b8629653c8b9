// Metrics: the one Prometheus registry of the server and typed handles onto it, named as in
// DESIGN.md (vidserve_ prefix, base units). Callers record events through the small methods
// below so label values stay consistent; MetricsHttpServer serialises Collect().
//
// Thread-safety: thread-safe (prometheus-cpp metrics are atomic; the registry locks).
#ifndef VIDSERVE_SERVER_METRICS_H_
#define VIDSERVE_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/video_types.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vidserve {

enum class Method { kEncode = 0, kDecode = 1, kGenerate = 2, kGetModelInfo = 3 };
inline constexpr int kNumMethods = 4;
const char* MethodName(Method method);  // "encode" | "decode" | "generate" | "get_model_info"

class Metrics {
 public:
  struct Options {
    std::string version = "unknown";        // build_info{version}
    std::string torch_version = "unknown";  // build_info{torch}
    std::string cuda = "false";             // build_info{cuda}: "true" when serving on CUDA
    std::string device;                     // gpu_memory_*{device}; empty = no GPU gauges
  };

  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const Options& options);

  // Per-request outcome; `code` is the gRPC status code name, e.g. "OK", "INVALID_ARGUMENT".
  void RecordRequest(Method method, const std::string& code, double duration_seconds);
  void RecordQueueTime(Method method, double seconds);
  void RecordCompute(Method method, double seconds, int batch_size);
  // One decoder forward pass (a Decode batch, or the decode that ends Generates), split as
  // VideoModel::DecodeTimings: the decoder network's device time, and copying the bytes out
  // to the clips. Tells an operator whether a slow Decode is the GPU or the host copies.
  void RecordDecodeParts(DecoderKind decoder, double network_seconds, double copy_out_seconds);
  void AddInflight(Method method, int delta);
  void SetQueueDepth(Method method, int depth);
  void RecordTimeToFirstFrame(double seconds);
  void AddGeneratedFrames(int64_t frames);
  void AddDenoiseSteps(int64_t steps);
  void SetGpuMemory(int64_t allocated, int64_t reserved, int64_t peak, int64_t total);

  // Refreshes scrape-time gauges (resident memory) and returns the Prometheus text format.
  std::string Serialize();

  prometheus::Registry& registry() { return *registry_; }

 private:
  explicit Metrics(const Options& options);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_total_;
  std::array<prometheus::Histogram*, kNumMethods> request_duration_{};
  std::array<prometheus::Histogram*, kNumMethods> queue_duration_{};
  std::array<prometheus::Histogram*, kNumMethods> compute_duration_{};
  std::array<prometheus::Histogram*, kNumMethods> batch_size_{};
  std::array<prometheus::Histogram*, 2> decode_network_{};   // [full, thin]
  std::array<prometheus::Histogram*, 2> decode_copy_out_{};  // [full, thin]
  std::array<prometheus::Gauge*, kNumMethods> inflight_{};
  std::array<prometheus::Gauge*, kNumMethods> queue_depth_{};
  prometheus::Histogram* time_to_first_frame_;
  prometheus::Counter* generated_frames_;
  prometheus::Counter* denoise_steps_;
  prometheus::Gauge* resident_memory_;
  // Null when not serving on a GPU: the gauges then do not exist rather than read 0.
  prometheus::Gauge* gpu_allocated_ = nullptr;
  prometheus::Gauge* gpu_reserved_ = nullptr;
  prometheus::Gauge* gpu_peak_ = nullptr;
  prometheus::Gauge* gpu_total_ = nullptr;
};

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_METRICS_H_

#include "server/metrics.h"

#include <unistd.h>

#include <fstream>

#include "prometheus/text_serializer.h"

namespace vidserve {
namespace {

// Latency buckets from 1 ms (a tiny encode) to 10 min (a long generation on CPU).
const prometheus::Histogram::BucketBoundaries kSecondsBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
// Decode parts: a small decode's network takes well under a millisecond on a GPU.
const prometheus::Histogram::BucketBoundaries kDecodePartBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
const prometheus::Histogram::BucketBoundaries kBatchBuckets = {1,  2,  3,  4,  6,  8,   12,
                                                               16, 24, 32, 48, 64, 128, 256};

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

const char* MethodName(Method method) {
  switch (method) {
    case Method::kEncode: return "encode";
    case Method::kDecode: return "decode";
    case Method::kGenerate: return "generate";
    case Method::kGetModelInfo: return "get_model_info";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const Options& options) {
  return std::unique_ptr<Metrics>(new Metrics(options));
}

Metrics::Metrics(const Options& options) : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  prometheus::Registry& r = *registry_;
  requests_total_ = &BuildCounter()
                         .Name("vidserve_requests_total")
                         .Help("Finished RPCs by method and gRPC status code.")
                         .Register(r);
  auto& request_duration = BuildHistogram()
                               .Name("vidserve_request_duration_seconds")
                               .Help("Time from receiving an RPC to its final status.")
                               .Register(r);
  auto& queue_duration = BuildHistogram()
                             .Name("vidserve_queue_duration_seconds")
                             .Help("Time a request waited in the scheduler before compute.")
                             .Register(r);
  auto& compute_duration = BuildHistogram()
                               .Name("vidserve_compute_duration_seconds")
                               .Help("Model time of one batch (a forward pass or denoise step).")
                               .Register(r);
  auto& batch_size =
      BuildHistogram()
          .Name("vidserve_batch_size")
          .Help("Requests merged into one forward pass (generate: per denoise step).")
          .Register(r);
  auto& inflight = BuildGauge()
                       .Name("vidserve_inflight_requests")
                       .Help("RPCs received and not yet finished.")
                       .Register(r);
  auto& queue_depth = BuildGauge()
                          .Name("vidserve_queue_depth")
                          .Help("Requests waiting in the scheduler queue.")
                          .Register(r);
  for (int i = 0; i < kNumMethods; ++i) {
    const prometheus::Labels labels = {{"method", MethodName(static_cast<Method>(i))}};
    request_duration_[i] = &request_duration.Add(labels, kSecondsBuckets);
    queue_duration_[i] = &queue_duration.Add(labels, kSecondsBuckets);
    compute_duration_[i] = &compute_duration.Add(labels, kSecondsBuckets);
    batch_size_[i] = &batch_size.Add(labels, kBatchBuckets);
    inflight_[i] = &inflight.Add(labels);
    queue_depth_[i] = &queue_depth.Add(labels);
  }
  auto& decode_network =
      BuildHistogram()
          .Name("vidserve_decode_network_seconds")
          .Help("Device time of one decoder forward pass, rounding to bytes included.")
          .Register(r);
  auto& decode_copy_out = BuildHistogram()
                              .Name("vidserve_decode_copy_out_seconds")
                              .Help("Copying one decoder pass's bytes into the host clips.")
                              .Register(r);
  for (DecoderKind kind : {DecoderKind::kFull, DecoderKind::kThin}) {
    const prometheus::Labels labels = {{"decoder", DecoderKindName(kind)}};
    decode_network_[static_cast<int>(kind)] = &decode_network.Add(labels, kDecodePartBuckets);
    decode_copy_out_[static_cast<int>(kind)] = &decode_copy_out.Add(labels, kDecodePartBuckets);
  }
  time_to_first_frame_ = &BuildHistogram()
                              .Name("vidserve_time_to_first_frame_seconds")
                              .Help("Generate: admission until the first video chunk is sent.")
                              .Register(r)
                              .Add({}, kSecondsBuckets);
  generated_frames_ = &BuildCounter()
                           .Name("vidserve_generated_frames_total")
                           .Help("Frames streamed by Generate.")
                           .Register(r)
                           .Add({});
  denoise_steps_ = &BuildCounter()
                        .Name("vidserve_denoise_steps_total")
                        .Help("Per-request denoise steps run (a step of a batch of 4 counts 4).")
                        .Register(r)
                        .Add({});
  resident_memory_ = &BuildGauge()
                          .Name("vidserve_process_resident_memory_bytes")
                          .Help("Resident set size of the server process, read at scrape time.")
                          .Register(r)
                          .Add({});
  BuildGauge()
      .Name("vidserve_build_info")
      .Help("Always 1; the labels describe the build.")
      .Register(r)
      .Add({{"version", options.version}, {"torch", options.torch_version}, {"cuda", options.cuda}})
      .Set(1);
  if (!options.device.empty()) {
    const prometheus::Labels device = {{"device", options.device}};
    gpu_allocated_ = &BuildGauge()
                          .Name("vidserve_gpu_memory_allocated_bytes")
                          .Help("Accelerator memory held by live tensors.")
                          .Register(r)
                          .Add(device);
    gpu_reserved_ = &BuildGauge()
                         .Name("vidserve_gpu_memory_reserved_bytes")
                         .Help("Accelerator memory reserved by the caching allocator.")
                         .Register(r)
                         .Add(device);
    gpu_peak_ = &BuildGauge()
                     .Name("vidserve_gpu_memory_peak_bytes")
                     .Help("Peak accelerator memory held by tensors since start.")
                     .Register(r)
                     .Add(device);
    gpu_total_ = &BuildGauge()
                      .Name("vidserve_gpu_memory_total_bytes")
                      .Help("Total memory of the accelerator.")
                      .Register(r)
                      .Add(device);
  }
}

void Metrics::RecordRequest(Method method, const std::string& code, double duration_seconds) {
  requests_total_->Add({{"method", MethodName(method)}, {"code", code}}).Increment();
  request_duration_[static_cast<int>(method)]->Observe(duration_seconds);
}

void Metrics::RecordQueueTime(Method method, double seconds) {
  queue_duration_[static_cast<int>(method)]->Observe(seconds);
}

void Metrics::RecordCompute(Method method, double seconds, int batch_size) {
  compute_duration_[static_cast<int>(method)]->Observe(seconds);
  batch_size_[static_cast<int>(method)]->Observe(batch_size);
}

void Metrics::RecordDecodeParts(DecoderKind decoder, double network_seconds,
                                double copy_out_seconds) {
  decode_network_[static_cast<int>(decoder)]->Observe(network_seconds);
  decode_copy_out_[static_cast<int>(decoder)]->Observe(copy_out_seconds);
}

void Metrics::AddInflight(Method method, int delta) {
  inflight_[static_cast<int>(method)]->Increment(delta);
}

void Metrics::SetQueueDepth(Method method, int depth) {
  queue_depth_[static_cast<int>(method)]->Set(depth);
}

void Metrics::RecordTimeToFirstFrame(double seconds) { time_to_first_frame_->Observe(seconds); }

void Metrics::AddGeneratedFrames(int64_t frames) {
  generated_frames_->Increment(static_cast<double>(frames));
}

void Metrics::AddDenoiseSteps(int64_t steps) {
  denoise_steps_->Increment(static_cast<double>(steps));
}

void Metrics::SetGpuMemory(int64_t allocated, int64_t reserved, int64_t peak, int64_t total) {
  if (gpu_allocated_ == nullptr) return;
  gpu_allocated_->Set(static_cast<double>(allocated));
  gpu_reserved_->Set(static_cast<double>(reserved));
  gpu_peak_->Set(static_cast<double>(peak));
  gpu_total_->Set(static_cast<double>(total));
}

std::string Metrics::Serialize() {
  resident_memory_->Set(static_cast<double>(ResidentBytes()));
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace vidserve

// vidserve-bench serve: end-to-end load through a real gRPC server (in this process, on an
// ephemeral loopback port) and real gRPC clients. In one run it measures:
//   - Generate latency at the default shape and steps (sequential requests), time to first
//     frame, and throughput of concurrent Generates (continuous batching),
//   - Encode and Decode throughput at a given concurrency with dynamic batching on
//     (max_batch_size N) vs off (max_batch_size 1),
//   - Decode latency with the full vs the thin decoder.
// Each configuration gets a fresh server with the same weights (same init seed).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/video_model.h"
#include "server/server.h"
#include "tools/bench/bench_commands.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/bench_stats.h"
#include "vidserve/v1/video_service.grpc.pb.h"

namespace vidserve::bench {
namespace {

namespace v1 = ::vidserve::v1;

struct ServeBenchOptions {
  std::string preset = "tiny";
  std::string model;  // checkpoint (file or directory); empty = random weights of `preset`
  std::string device = "auto";
  int num_threads = 0;
  int64_t frames = 17, height = 64, width = 64;
  int64_t steps = 0;  // 0 = model default
  int generate_requests = 3;
  int generate_concurrency = 4;
  int concurrency = 8;
  int requests = 32;  // per Encode/Decode phase
  int max_batch_size = 8;
  // The bench's batching window, kept at 2000 us (not the server's default 0) so that its
  // runs compare with those before; --max-queue-delay-us 0 measures the default.
  int64_t max_queue_delay_us = 2000;
};

class BenchServer {
 public:
  static std::unique_ptr<BenchServer> Start(const ServeBenchOptions& options, int max_batch_size) {
    ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.metrics_listen = "";
    config.model.preset = options.preset;
    config.model.dir = options.model;
    config.model.device = options.device;
    config.model.num_threads = options.num_threads;
    config.scheduler.max_batch_size = max_batch_size;
    config.scheduler.max_queue_delay_us = options.max_queue_delay_us;
    config.scheduler.max_queue_size = 1024;
    config.scheduler.max_active_generations = std::max(8, options.generate_concurrency);
    auto server = VidServer::Create(config);
    if (!server.ok()) {
      std::fprintf(stderr, "vidserve-bench serve: %s\n", server.status().ToString().c_str());
      return nullptr;
    }
    if (auto status = (*server)->Start(); !status.ok()) {
      std::fprintf(stderr, "vidserve-bench serve: %s\n", status.ToString().c_str());
      return nullptr;
    }
    auto bench = std::unique_ptr<BenchServer>(new BenchServer());
    bench->server_ = std::move(*server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    bench->channel_ = grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(bench->server_->port()), grpc::InsecureChannelCredentials(), args);
    return bench;
  }
  ~BenchServer() {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }
  std::unique_ptr<v1::VideoService::Stub> NewStub() { return v1::VideoService::NewStub(channel_); }
  const ModelInfo& info() const { return server_->model_info(); }

 private:
  std::unique_ptr<VidServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

v1::Video PatternVideo(const ServeBenchOptions& options) {
  v1::Video video;
  video.set_frames(options.frames);
  video.set_height(options.height);
  video.set_width(options.width);
  video.set_fps(24);
  std::string rgb(options.frames * options.height * options.width * 3, '\0');
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<char>((i * 131) % 251);
  video.set_rgb(std::move(rgb));
  return video;
}

struct LoadResult {
  double seconds = 0;
  int ok = 0;
  int failed = 0;
  std::string first_error;
  std::vector<double> latencies;
  double RequestsPerSecond() const { return seconds > 0 ? ok / seconds : 0; }
};

// Runs `total` calls of `call` from `concurrency` threads, each with its own stub.
template <typename Call>
LoadResult RunLoad(BenchServer& server, int concurrency, int total, Call call) {
  LoadResult result;
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  const double start = NowSeconds();
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&] {
      auto stub = server.NewStub();
      while (next.fetch_add(1) < total) {
        const double t0 = NowSeconds();
        grpc::Status status = call(*stub);
        const double elapsed = NowSeconds() - t0;
        std::lock_guard<std::mutex> lock(mu);
        if (status.ok()) {
          ++result.ok;
          result.latencies.push_back(elapsed);
        } else {
          ++result.failed;
          if (result.first_error.empty()) result.first_error = status.error_message();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  result.seconds = NowSeconds() - start;
  return result;
}

struct GenerateOutcome {
  grpc::Status status;
  v1::Summary summary;
};

GenerateOutcome GenerateOnce(v1::VideoService::Stub& stub, const ServeBenchOptions& options, uint64_t seed) {
  v1::GenerateRequest request;
  request.set_prompt("a red circle moving right on a blue background");
  request.set_frames(options.frames);
  request.set_height(options.height);
  request.set_width(options.width);
  request.set_steps(options.steps);
  request.set_seed(seed);
  grpc::ClientContext context;
  auto reader = stub.Generate(&context, request);
  GenerateOutcome outcome;
  v1::GenerateResponse event;
  while (reader->Read(&event)) {
    if (event.has_summary()) outcome.summary = event.summary();
  }
  outcome.status = reader->Finish();
  return outcome;
}

nlohmann::json LoadJson(const LoadResult& load) {
  return {{"seconds", load.seconds},
          {"ok", load.ok},
          {"failed", load.failed},
          {"requests_per_second", load.RequestsPerSecond()},
          {"latency_p50_ms", Quantile(load.latencies, 0.5) * 1e3},
          {"latency_p90_ms", Quantile(load.latencies, 0.9) * 1e3}};
}

bool Report(const char* what, const LoadResult& load) {
  std::printf("  %-34s %8.2f req/s  p50 %8.1f ms  p90 %8.1f ms  (%d ok, %d failed)\n", what,
              load.RequestsPerSecond(), Quantile(load.latencies, 0.5) * 1e3,
              Quantile(load.latencies, 0.9) * 1e3, load.ok, load.failed);
  if (load.failed > 0) std::fprintf(stderr, "    first error: %s\n", load.first_error.c_str());
  return load.failed == 0;
}

}  // namespace

int RunServeBench(int argc, char** argv) {
  BenchFlags flags;
  if (!flags.Parse(argc, argv)) return 2;
  ServeBenchOptions options;
  options.preset = flags.String("preset", options.preset);
  options.model = flags.String("model", options.model);
  options.device = flags.String("device", options.device);
  options.num_threads = static_cast<int>(flags.Int("threads", options.num_threads));
  options.frames = flags.Int("frames", options.frames);
  options.height = flags.Int("height", options.height);
  options.width = flags.Int("width", options.width);
  options.steps = flags.Int("steps", options.steps);
  options.generate_requests = static_cast<int>(flags.Int("generate-requests", options.generate_requests));
  options.generate_concurrency = static_cast<int>(flags.Int("generate-concurrency", options.generate_concurrency));
  options.concurrency = static_cast<int>(flags.Int("concurrency", options.concurrency));
  options.requests = static_cast<int>(flags.Int("requests", options.requests));
  options.max_batch_size = static_cast<int>(flags.Int("max-batch-size", options.max_batch_size));
  options.max_queue_delay_us = flags.Int("max-queue-delay-us", options.max_queue_delay_us);
  const std::string json_path = flags.String("json", "");
  if (flags.Has("help")) {
    std::printf(
        "vidserve-bench serve [--preset tiny] [--model CHECKPOINT] [--device auto|cpu|cuda] [--threads N]\n"
        "  [--frames 17 --height 64 --width 64 --steps 0(default)] [--generate-requests 3]\n"
        "  [--generate-concurrency 4] [--concurrency 8] [--requests 32] [--max-batch-size 8]\n"
        "  [--max-queue-delay-us 2000] [--json FILE]\n");
    return 0;
  }
  if (!flags.CheckAllUsed("serve")) return 2;

  nlohmann::json report = {{"command", "serve"}, {"date", UtcNow()}, {"machine", DescribeCpuMachine()},
                           {"torch", TorchVersion()}, {"preset", options.preset}, {"model", options.model},
                           {"shape", {options.frames, options.height, options.width}},
                           {"concurrency", options.concurrency}, {"requests", options.requests}};
  bool all_ok = true;

  // Phase 1: batching on. Generate latency, concurrent Generate, Encode/Decode throughput,
  // thin vs full decoder.
  auto batched = BenchServer::Start(options, options.max_batch_size);
  if (!batched) return 1;
  const ModelInfo& info = batched->info();
  const int64_t steps = options.steps > 0 ? options.steps : info.config.sampler.default_steps;
  report["device"] = info.device;
  report["steps"] = steps;
  // The checkpoint when one is served (its own architecture), else the preset.
  const std::string model_label =
      options.model.empty() ? "preset=" + options.preset : "model=" + options.model;
  std::printf("vidserve-bench serve  %s device=%s torch=%s shape=%ldx%ldx%ld steps=%ld\n",
              model_label.c_str(), info.device.c_str(), TorchVersion().c_str(), options.frames,
              options.height, options.width, steps);

  {
    auto stub = batched->NewStub();
    GenerateOnce(*stub, options, 1);  // warm-up
    std::vector<double> latency, ttff, denoise, decode;
    for (int i = 0; i < options.generate_requests; ++i) {
      const double t0 = NowSeconds();
      GenerateOutcome outcome = GenerateOnce(*stub, options, 100 + i);
      if (!outcome.status.ok()) {
        std::fprintf(stderr, "generate failed: %s\n", outcome.status.error_message().c_str());
        return 1;
      }
      latency.push_back(NowSeconds() - t0);
      ttff.push_back(outcome.summary.time_to_first_frame_seconds());
      denoise.push_back(outcome.summary.denoise_seconds());
      decode.push_back(outcome.summary.decode_seconds());
    }
    std::printf("Generate, one at a time (%d requests):\n  latency p50 %.3f s, time to first frame %.3f s, "
                "denoise %.3f s (%.1f ms/step), decode %.3f s\n",
                options.generate_requests, Median(latency), Median(ttff), Median(denoise),
                Median(denoise) / steps * 1e3, Median(decode));
    report["generate"] = {{"latency_p50_s", Median(latency)},      {"time_to_first_frame_p50_s", Median(ttff)},
                          {"denoise_p50_s", Median(denoise)},      {"decode_p50_s", Median(decode)},
                          {"ms_per_step", Median(denoise) / steps * 1e3}, {"requests", options.generate_requests}};

    std::atomic<uint64_t> seed{1000};
    std::atomic<uint32_t> max_batch{0};
    const int total = options.generate_concurrency;
    LoadResult concurrent = RunLoad(*batched, options.generate_concurrency, total, [&](auto& s) {
      GenerateOutcome outcome = GenerateOnce(s, options, seed.fetch_add(1));
      uint32_t seen = max_batch.load();
      while (outcome.summary.max_batch_size() > seen &&
             !max_batch.compare_exchange_weak(seen, outcome.summary.max_batch_size())) {
      }
      return outcome.status;
    });
    const double sequential_s = Median(latency) * total;
    std::printf("Generate, %d concurrent: %.3f s wall for %d videos (%.2fx the sequential time's "
                "throughput), largest denoise batch %u\n",
                total, concurrent.seconds, total, sequential_s / concurrent.seconds, max_batch.load());
    all_ok &= concurrent.failed == 0;
    report["generate_concurrent"] = LoadJson(concurrent);
    report["generate_concurrent"]["speedup_vs_sequential"] = sequential_s / concurrent.seconds;
    report["generate_concurrent"]["max_denoise_batch"] = max_batch.load();
  }

  // A latent to decode, of the benchmark shape.
  v1::Latent latent;
  const v1::Video video = PatternVideo(options);
  {
    auto stub = batched->NewStub();
    v1::EncodeRequest request;
    *request.mutable_video() = video;
    v1::EncodeResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub->Encode(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "encode failed: %s\n", status.error_message().c_str());
      return 1;
    }
    latent = response.latent();
  }
  auto encode_call = [&](v1::VideoService::Stub& stub) {
    v1::EncodeRequest request;
    *request.mutable_video() = video;
    v1::EncodeResponse response;
    grpc::ClientContext context;
    return stub.Encode(&context, request, &response);
  };
  auto decode_call = [&](v1::Decoder decoder) {
    return [&, decoder](v1::VideoService::Stub& stub) {
      v1::DecodeRequest request;
      *request.mutable_latent() = latent;
      request.set_decoder(decoder);
      v1::DecodeResponse response;
      grpc::ClientContext context;
      return stub.Decode(&context, request, &response);
    };
  };

  std::printf("Decoder latency, one request at a time:\n");
  LoadResult full_single = RunLoad(*batched, 1, 8, decode_call(v1::DECODER_FULL));
  LoadResult thin_single = RunLoad(*batched, 1, 8, decode_call(v1::DECODER_THIN));
  all_ok &= Report("decode full", full_single);
  all_ok &= Report("decode thin", thin_single);
  const double thin_speedup = Quantile(full_single.latencies, 0.5) / Quantile(thin_single.latencies, 0.5);
  std::printf("  thin decoder speed-up (p50): %.2fx\n", thin_speedup);
  report["decode_full_single"] = LoadJson(full_single);
  report["decode_thin_single"] = LoadJson(thin_single);
  report["thin_speedup_p50"] = thin_speedup;

  std::printf("Throughput at concurrency %d, %d requests, batching on (max_batch_size %d):\n",
              options.concurrency, options.requests, options.max_batch_size);
  LoadResult encode_on = RunLoad(*batched, options.concurrency, options.requests, encode_call);
  LoadResult decode_on = RunLoad(*batched, options.concurrency, options.requests, decode_call(v1::DECODER_FULL));
  all_ok &= Report("encode", encode_on);
  all_ok &= Report("decode (full)", decode_on);
  batched.reset();

  auto unbatched = BenchServer::Start(options, 1);
  if (!unbatched) return 1;
  std::printf("Same, batching off (max_batch_size 1):\n");
  LoadResult encode_off = RunLoad(*unbatched, options.concurrency, options.requests, encode_call);
  LoadResult decode_off = RunLoad(*unbatched, options.concurrency, options.requests, decode_call(v1::DECODER_FULL));
  all_ok &= Report("encode", encode_off);
  all_ok &= Report("decode (full)", decode_off);
  unbatched.reset();

  const double encode_gain = encode_on.RequestsPerSecond() / encode_off.RequestsPerSecond();
  const double decode_gain = decode_on.RequestsPerSecond() / decode_off.RequestsPerSecond();
  std::printf("Batching gain (throughput on / off): encode %.2fx, decode %.2fx\n", encode_gain, decode_gain);
  report["encode_batched"] = LoadJson(encode_on);
  report["decode_batched"] = LoadJson(decode_on);
  report["encode_unbatched"] = LoadJson(encode_off);
  report["decode_unbatched"] = LoadJson(decode_off);
  report["batching_gain"] = {{"encode", encode_gain}, {"decode", decode_gain}};

  if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
  return all_ok ? 0 : 1;
}

}  // namespace vidserve::bench

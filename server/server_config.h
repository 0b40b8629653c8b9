// ServerConfig: everything `vidserve` reads from its YAML file and command line. The YAML
// keys mirror the struct fields one to one (see deploy/vidserve.yaml for the documented
// defaults); flags override single keys. Every error names the offending key and value so
// an operator can fix the file without reading code.
//
// Thread-safety: plain data; the free functions are thread-safe.
#ifndef VIDSERVE_SERVER_SERVER_CONFIG_H_
#define VIDSERVE_SERVER_SERVER_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model_config.h"

namespace vidserve {

struct ServerConfig {
  // gRPC address HOST:PORT; port 0 picks a free port (see VidServer::port()).
  std::string listen = "127.0.0.1:50051";
  // Prometheus /metrics and /healthz address HOST:PORT; port 0 picks a free port; empty
  // disables the HTTP endpoint.
  std::string metrics_listen = "127.0.0.1:8002";

  struct Model {
    std::string dir;              // checkpoint file or directory; empty = random weights
    std::string preset = "tiny";  // architecture used when dir is empty
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    int num_threads = 0;          // CPU intra-op threads; 0 = LibTorch's default
    // Encode/Decode time-chunk budget in latent voxels; 0 = the default, 4096
    // (VideoModel::Options::chunk_latent_voxels).
    int64_t chunk_latent_voxels = 0;
    uint64_t init_seed = 0;       // seed of the random weights when dir is empty
    // CUDA only: CUDA graphs kept for Decode (one per decoder and batch shape), [0, 1024];
    // 0 = eager decode.
    int cuda_graph_cache_size = 32;
    bool cudnn_benchmark = true;  // CUDA only: autotune each convolution shape once
    // CUDA only: Decode's arithmetic, float32 | float16 | bfloat16, and its layout knobs
    // (VideoModel::Options; measured by vidserve-bench vae, BENCHMARKS.md section 3).
    std::string decode_precision = "float32";
    bool decode_channels_last = false;
    bool decode_conv2d = false;
    bool decode_direct_conv = true;
    // Each VAE norm and its SiLU in one pass (CPU and CUDA; Encode and Decode).
    bool fused_norm = true;
    // model.sampler: replaces the checkpoint's sampler settings (timestep_shift,
    // guidance_min_t, guidance_max_t, stochasticity; model/model_config.h); unset keys keep
    // the checkpoint's, which carries the values its quality was measured with.
    SamplerOverrides sampler;
  } model;

  struct Scheduler {
    int max_batch_size = 8;             // requests merged into one forward pass, [1, 256]
    // Wait for batch mates after the oldest arrived, [0, 10 s]. 0: a batch is what is queued
    // when the worker is free (requests that arrive while it is busy still batch); on the
    // H200 a 2 ms window cost a lone Decode 2 ms and gained no throughput (BENCHMARKS.md §1).
    int64_t max_queue_delay_us = 0;
    int max_queue_size = 64;            // waiting requests per method before RESOURCE_EXHAUSTED
    int max_active_generations = 8;     // generations holding denoising state at once
  } scheduler;

  struct Limits {
    int64_t max_message_bytes = 256LL << 20;  // largest gRPC request or response message
  } limits;

  int64_t drain_timeout_ms = 30000;  // SIGTERM: time in-flight work gets to finish
  bool warmup = true;                // run the model at the default clip shape before SERVING
  // Warm-up batch sizes 1..N (Scheduler::Warmup), [0, scheduler.max_batch_size]; 0 =
  // scheduler.max_batch_size on a CUDA device (each new batch shape costs a CUDA-graph
  // capture and cuDNN autotuning there), 1 on the CPU.
  int warmup_batch_size = 0;
};

// Parses a YAML document. Unknown keys and bad values fail with INVALID_ARGUMENT naming the
// key, e.g. "scheduler.max_batch_size: must be in [1, 256], got 0".
absl::StatusOr<ServerConfig> ParseServerConfigYaml(const std::string& yaml_text);
// Reads and parses a YAML file. A relative model.dir in it is taken relative to the file's
// directory (flags, by contrast, are relative to the working directory).
absl::StatusOr<ServerConfig> LoadServerConfigFile(const std::string& path);

// Range checks shared by the YAML parser and the flag overrides.
absl::Status ValidateServerConfig(const ServerConfig& config);

// Command-line overrides; an unset field leaves the config's value alone.
struct ServerConfigOverrides {
  std::optional<std::string> listen;
  std::optional<std::string> metrics_listen;
  std::optional<std::string> model_dir;
  std::optional<std::string> device;
  std::optional<std::string> preset;
  std::optional<int> max_batch_size;
  std::optional<int64_t> max_queue_delay_us;
  std::optional<int> num_threads;
};

// Applies `overrides` and validates the result; errors name the key as in the YAML file.
absl::StatusOr<ServerConfig> ApplyServerConfigOverrides(ServerConfig config,
                                                        const ServerConfigOverrides& overrides);

// Splits "host:port" ("[::1]:50051" too). Errors name `key`.
absl::Status ParseHostPort(const std::string& key, const std::string& address, std::string* host,
                           int* port);

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_SERVER_CONFIG_H_

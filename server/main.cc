// vidserve: the gRPC video generation server.
//   vidserve --config FILE --listen HOST:PORT --metrics_listen HOST:PORT --model DIR
//            --device auto|cpu|cuda [--preset NAME --max_batch_size N --max_queue_delay_us N
//            --num_threads N]
// Exit codes: 0 after a clean SIGTERM/SIGINT drain, 1 when the server cannot start (e.g. port
// in use), 2 for an invalid configuration, including a missing preset or checkpoint (the
// message names the key).
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/heap_retention.h"
#include "common/logging.h"
#include "server/server.h"
#include "server/server_config.h"

// Empty strings and -1 mean "not given": the config file's (or the default) value stays.
ABSL_FLAG(std::string, config, "", "YAML config file (see deploy/vidserve.yaml)");
ABSL_FLAG(std::string, listen, "", "gRPC address HOST:PORT (default 127.0.0.1:50051)");
ABSL_FLAG(std::string, metrics_listen, "",
          "metrics HTTP address HOST:PORT (default 127.0.0.1:8002)");
ABSL_FLAG(std::string, model, "", "checkpoint file or directory (default: random weights)");
ABSL_FLAG(std::string, device, "", "auto | cpu | cuda | cuda:N (default auto)");
ABSL_FLAG(std::string, preset, "",
          "architecture preset when no checkpoint is given (default tiny)");
ABSL_FLAG(int, max_batch_size, -1, "requests per forward pass (default 8)");
ABSL_FLAG(int64_t, max_queue_delay_us, -1, "dynamic batching delay in microseconds (default 0)");
ABSL_FLAG(int, num_threads, -1, "CPU intra-op threads, 0 = LibTorch default");

namespace {

sem_t g_shutdown_requested;
std::atomic<int> g_signal{0};

// Async-signal-safe: sem_post and _exit only. A second signal while draining exits at once.
void OnShutdownSignal(int signal_number) {
  if (g_signal.exchange(signal_number) != 0) _exit(128 + signal_number);
  sem_post(&g_shutdown_requested);
}

int ConfigError(const absl::Status& status) {
  std::fprintf(stderr, "vidserve: invalid configuration: %s\n",
               std::string(status.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread allocates: decoded clips are freed and reallocated on every request.
  vidserve::RetainFreedHeapMemory();
  absl::SetProgramUsageMessage(
      "vidserve --config FILE --listen HOST:PORT --metrics_listen HOST:PORT --model DIR "
      "--device auto|cpu|cuda");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "vidserve: unexpected argument \"%s\"\n", positional[1]);
    return 2;
  }

  vidserve::ServerConfig config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<vidserve::ServerConfig> loaded = vidserve::LoadServerConfigFile(path);
    if (!loaded.ok()) return ConfigError(loaded.status());
    config = *loaded;
  }
  vidserve::ServerConfigOverrides overrides;
  auto string_flag = [](const absl::Flag<std::string>& flag) -> std::optional<std::string> {
    std::string value = absl::GetFlag(flag);
    if (value.empty()) return std::nullopt;
    return value;
  };
  overrides.listen = string_flag(FLAGS_listen);
  overrides.metrics_listen = string_flag(FLAGS_metrics_listen);
  overrides.model_dir = string_flag(FLAGS_model);
  overrides.device = string_flag(FLAGS_device);
  overrides.preset = string_flag(FLAGS_preset);
  if (absl::GetFlag(FLAGS_max_batch_size) != -1) {
    overrides.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  }
  if (absl::GetFlag(FLAGS_max_queue_delay_us) != -1) {
    overrides.max_queue_delay_us = absl::GetFlag(FLAGS_max_queue_delay_us);
  }
  if (absl::GetFlag(FLAGS_num_threads) != -1) {
    overrides.num_threads = absl::GetFlag(FLAGS_num_threads);
  }
  absl::StatusOr<vidserve::ServerConfig> final_config =
      vidserve::ApplyServerConfigOverrides(config, overrides);
  if (!final_config.ok()) return ConfigError(final_config.status());

  // A handler rather than sigwait: LibTorch/OpenBLAS may start threads before main, and a
  // process-directed signal can land on any of them; the handler works wherever it runs.
  sem_init(&g_shutdown_requested, 0, 0);
  struct sigaction action = {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  absl::StatusOr<std::unique_ptr<vidserve::VidServer>> server =
      vidserve::VidServer::Create(*final_config);
  if (!server.ok()) return ConfigError(server.status());
  if (absl::Status s = (*server)->Start(); !s.ok()) {
    LOG_ERROR << "cannot start: " << s;
    // A preset or checkpoint that does not exist or does not validate is a configuration
    // error (the message names model.preset / model.dir); anything else is a runtime one.
    const bool config_error =
        s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kNotFound;
    return config_error ? 2 : 1;
  }

  while (sem_wait(&g_shutdown_requested) != 0) {
  }
  LOG_INFO << "received " << (g_signal.load() == SIGTERM ? "SIGTERM" : "SIGINT")
           << ", draining drain_timeout_ms=" << final_config->drain_timeout_ms;
  (*server)->Shutdown(absl::Milliseconds(final_config->drain_timeout_ms));
  return 0;
}

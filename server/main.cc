// vidserve: the gRPC video generation server.
//   vidserve --config FILE --listen HOST:PORT --metrics_listen HOST:PORT --model DIR
//            --device auto|cpu|cuda [--preset NAME --max_batch_size N --max_queue_delay_us N
//            --num_threads N]
// Exit codes: 0 after a clean SIGTERM/SIGINT drain, 1 when the server cannot start, 2 for an
// invalid configuration (the message names the key).
#include <csignal>
#include <cstdio>
#include <cstring>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/logging.h"
#include "server/server.h"
#include "server/server_config.h"

// Empty strings and -1 mean "not given": the config file's (or the default) value stays.
ABSL_FLAG(std::string, config, "", "YAML config file (see deploy/vidserve.yaml)");
ABSL_FLAG(std::string, listen, "", "gRPC address HOST:PORT (default 127.0.0.1:50051)");
ABSL_FLAG(std::string, metrics_listen, "", "metrics HTTP address HOST:PORT (default 127.0.0.1:8002)");
ABSL_FLAG(std::string, model, "", "checkpoint file or directory (default: random weights)");
ABSL_FLAG(std::string, device, "", "auto | cpu | cuda | cuda:N (default auto)");
ABSL_FLAG(std::string, preset, "", "architecture preset when no checkpoint is given (default tiny)");
ABSL_FLAG(int, max_batch_size, -1, "requests per forward pass (default 8)");
ABSL_FLAG(int64_t, max_queue_delay_us, -1, "dynamic batching delay in microseconds (default 2000)");
ABSL_FLAG(int, num_threads, -1, "CPU intra-op threads, 0 = LibTorch default");

namespace {

int ConfigError(const absl::Status& status) {
  std::fprintf(stderr, "vidserve: invalid configuration: %s\n",
               std::string(status.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
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

  // Block the shutdown signals in every thread (they inherit this mask) so that only the
  // sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<vidserve::VidServer>> server =
      vidserve::VidServer::Create(*final_config);
  if (!server.ok()) return ConfigError(server.status());
  if (absl::Status s = (*server)->Start(); !s.ok()) {
    LOG_ERROR << "cannot start: " << s;
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LOG_INFO << "received " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
           << ", draining drain_timeout_ms=" << final_config->drain_timeout_ms;
  (*server)->Shutdown(absl::Milliseconds(final_config->drain_timeout_ms));
  return 0;
}

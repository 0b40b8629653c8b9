// VidServer: the whole server in one embeddable object — config in, ports out. main.cc,
// the integration tests and vidserve-bench all run it the same way:
//
//   auto server = VidServer::Create(config);   // validates the config
//   (*server)->Start();                        // model, gRPC + metrics ports, warm-up, SERVING
//   (*server)->port(); (*server)->metrics_port();
//   (*server)->Shutdown(absl::Seconds(30));    // NOT_SERVING, drain, stop
//
// Lifecycle: the gRPC port opens with grpc.health.v1 NOT_SERVING; the health status turns
// SERVING only after the warm-up (requests arriving earlier wait in the queues). Shutdown
// turns it NOT_SERVING, refuses new work with UNAVAILABLE "server is draining", lets
// in-flight work finish up to the drain timeout, fails the rest with UNAVAILABLE, then
// stops the gRPC and HTTP servers.
//
// Thread-safety: Start once from one thread; Shutdown and Wait are thread-safe (Shutdown is
// idempotent); the accessors are thread-safe after Start.
#ifndef VIDSERVE_SERVER_SERVER_H_
#define VIDSERVE_SERVER_SERVER_H_

#include <grpcpp/server.h>

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "model/video_model.h"
#include "server/metrics.h"
#include "server/metrics_http_server.h"
#include "server/scheduler.h"
#include "server/server_config.h"
#include "server/video_service.h"

namespace vidserve {

class VidServer {
 public:
  static absl::StatusOr<std::unique_ptr<VidServer>> Create(const ServerConfig& config);
  ~VidServer();  // Shutdown(0) when still running

  // Loads the model, opens the ports, warms up, then reports SERVING. Errors: model load
  // failures, "listen: cannot bind ...", "metrics_listen: cannot bind ...".
  absl::Status Start();

  int port() const { return port_; }                  // bound gRPC port
  int metrics_port() const { return metrics_port_; }  // bound HTTP port; 0 when disabled
  bool serving() const { return serving_.load(); }
  const ServerConfig& config() const { return config_; }
  const ModelInfo& model_info() const;  // REQUIRES: Start() succeeded
  Metrics* metrics() const { return metrics_.get(); }

  void Shutdown(absl::Duration drain_timeout);
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  explicit VidServer(const ServerConfig& config) : config_(config) {}
  void SetServing(bool serving);

  const ServerConfig config_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<VideoService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<MetricsHttpServer> metrics_http_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::atomic<bool> serving_{false};
  std::atomic<bool> started_{false};

  absl::Mutex shutdown_mu_;  // serialises Shutdown calls
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Notification shutdown_done_;
};

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_SERVER_H_

// MetricsHttpServer: serves GET /metrics (Prometheus text format) and GET /healthz (200 "ok"
// while the server is SERVING, 503 otherwise) with cpp-httplib on its own thread.
// prometheus-cpp's civetweb Exposer is avoided on purpose: its 100 KB thread stacks crash
// next to OpenBLAS's thread-local buffers.
//
// Thread-safety: Create/Stop from one thread; the handlers run on httplib's threads and only
// call Metrics::Serialize (thread-safe) and the `healthy` callback (must be thread-safe).
#ifndef VIDSERVE_SERVER_METRICS_HTTP_SERVER_H_
#define VIDSERVE_SERVER_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/metrics.h"

namespace httplib {
class Server;
}

namespace vidserve {

class MetricsHttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:8002";  // HOST:PORT; port 0 picks a free port
    std::function<bool()> healthy;          // /healthz answers 200 when true
  };

  // Binds and starts serving; `metrics` must outlive the server.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Create(const Options& options,
                                                                   Metrics* metrics);
  ~MetricsHttpServer();  // Stop()s

  int port() const { return port_; }
  void Stop();

 private:
  MetricsHttpServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_METRICS_HTTP_SERVER_H_

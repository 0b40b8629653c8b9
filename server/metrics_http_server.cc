#include "server/metrics_http_server.h"

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "server/server_config.h"

namespace vidserve {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Create(const Options& options,
                                                                             Metrics* metrics) {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseHostPort("metrics_listen", options.listen, &host, &port); !s.ok()) {
    return s;
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->http_ = std::make_unique<httplib::Server>();
  server->http_->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->Serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  std::function<bool()> healthy = options.healthy;
  server->http_->Get("/healthz", [healthy](const httplib::Request&, httplib::Response& res) {
    const bool ok = healthy && healthy();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "not serving\n", "text/plain");
  });
  if (port == 0) {
    server->port_ = server->http_->bind_to_any_port(host);
  } else if (server->http_->bind_to_port(host, port)) {
    server->port_ = port;
  } else {
    server->port_ = -1;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics_listen: cannot bind ", options.listen, " (address in use?)"));
  }
  server->thread_ = std::thread([http = server->http_.get()] { http->listen_after_bind(); });
  return server;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (http_ != nullptr) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vidserve

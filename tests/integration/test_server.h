// Helpers for the integration tests: a real VidServer on ephemeral ports (tiny preset, CPU),
// real gRPC stubs, and a metrics scraper. No mocks: every test exercises the model.
#ifndef VIDSERVE_TESTS_INTEGRATION_TEST_SERVER_H_
#define VIDSERVE_TESTS_INTEGRATION_TEST_SERVER_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/server.h"
#include "vidserve/v1/video_service.grpc.pb.h"

namespace vidserve::testing {

// A config for tests: ephemeral ports, tiny preset on CPU (VIDSERVE_TEST_DEVICE=cuda runs
// the same tests on a GPU), batching delay short by default.
inline ServerConfig TestConfig() {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.metrics_listen = "127.0.0.1:0";
  config.model.preset = "tiny";
  const char* device = std::getenv("VIDSERVE_TEST_DEVICE");
  config.model.device = device != nullptr && *device != '\0' ? device : "cpu";
  config.scheduler.max_queue_delay_us = 1000;
  config.drain_timeout_ms = 10000;
  return config;
}

inline std::unique_ptr<VidServer> StartServer(const ServerConfig& config) {
  absl::StatusOr<std::unique_ptr<VidServer>> server = VidServer::Create(config);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  absl::Status started = (*server)->Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  return std::move(*server);
}

inline std::shared_ptr<grpc::Channel> MakeChannel(int port) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

inline std::unique_ptr<v1::VideoService::Stub> MakeStub(int port) {
  return v1::VideoService::NewStub(MakeChannel(port));
}

inline void SetTimeout(grpc::ClientContext* context, std::chrono::milliseconds timeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

inline v1::Video RandomVideo(int frames, int height, int width, uint32_t seed = 1) {
  v1::Video video;
  video.set_frames(frames);
  video.set_height(height);
  video.set_width(width);
  std::string rgb(static_cast<size_t>(frames) * height * width * 3, '\0');
  std::mt19937 rng(seed);
  for (char& c : rgb) c = static_cast<char>(rng() & 0xff);
  video.set_rgb(rgb);
  return video;
}

inline v1::GenerateRequest SmallGenerate(uint32_t steps = 2, std::optional<uint64_t> seed = 7) {
  v1::GenerateRequest request;
  request.set_prompt("a red circle moving right");
  request.set_frames(5);
  request.set_height(16);
  request.set_width(16);
  request.set_steps(steps);
  if (seed) request.set_seed(*seed);
  return request;
}

// A generation that runs for a good while even on a fast machine (max steps, default size),
// for tests that act on a generation while it runs: cancel, deadline, drain, queue full.
inline v1::GenerateRequest LongGenerate() {
  v1::GenerateRequest request = SmallGenerate(/*steps=*/100);
  request.set_frames(17);
  request.set_height(64);
  request.set_width(64);
  return request;
}

struct GenerateOutcome {
  grpc::Status status;
  std::vector<v1::GenerateResponse> events;
  std::string rgb;  // all chunks concatenated
  const v1::Summary* summary() const {
    return !events.empty() && events.back().has_summary() ? &events.back().summary() : nullptr;
  }
};

inline GenerateOutcome RunGenerate(v1::VideoService::Stub* stub, const v1::GenerateRequest& request,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  grpc::ClientContext context;
  SetTimeout(&context, timeout);
  GenerateOutcome outcome;
  auto reader = stub->Generate(&context, request);
  v1::GenerateResponse event;
  while (reader->Read(&event)) {
    if (event.has_chunk()) outcome.rgb += event.chunk().video().rgb();
    outcome.events.push_back(event);
  }
  outcome.status = reader->Finish();
  return outcome;
}

inline std::string Scrape(int metrics_port, const std::string& path = "/metrics",
                          int* status = nullptr) {
  httplib::Client client("127.0.0.1", metrics_port);
  client.set_connection_timeout(5);
  auto result = client.Get(path.c_str());
  if (status != nullptr) *status = result ? result->status : -1;
  return result ? result->body : "";
}

// The value of the first sample line starting with `series` (name plus labels), or -1.
inline double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// grpc.health.v1.Health/Check through the generic stub (no generated health stubs needed):
// the request is an empty HealthCheckRequest (service ""), the reply is field 1 = status.
// Returns 1 for SERVING, 2 for NOT_SERVING, -1 on RPC failure.
inline int HealthStatus(int port, const std::string& service = "") {
  grpc::GenericStub stub(MakeChannel(port));
  grpc::ClientContext context;
  SetTimeout(&context, std::chrono::seconds(5));
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back(0x0a);
    request_bytes.push_back(static_cast<char>(service.size()));
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = s;
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.empty()) return 0;  // UNKNOWN (the default value is not serialised)
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
}

}  // namespace vidserve::testing

#endif  // VIDSERVE_TESTS_INTEGRATION_TEST_SERVER_H_

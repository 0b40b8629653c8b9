// Batching, cancellation, deadlines, backpressure, message limits and drain, each against
// its own server so that the scheduler settings under test are explicit.
#include <atomic>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_server.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;
using namespace vidserve::testing;  // NOLINT

v1::EncodeRequest SmallEncode(uint32_t seed = 1) {
  v1::EncodeRequest request;
  *request.mutable_video() = RandomVideo(1, 16, 16, seed);
  return request;
}

double DenoiseSteps(const VidServer& server) {
  return MetricValue(Scrape(server.metrics_port()), "vidserve_denoise_steps_total");
}

TEST(Batching, ConcurrentSameShapeEncodesShareOneForwardPass) {
  ServerConfig config = TestConfig();
  config.scheduler.max_queue_delay_us = 200000;  // plenty of time for the four to meet
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  constexpr int kRequests = 4;
  std::vector<std::future<v1::EncodeResponse>> responses;
  for (int i = 0; i < kRequests; ++i) {
    responses.push_back(std::async(std::launch::async, [&stub, i] {
      grpc::ClientContext context;
      SetTimeout(&context, std::chrono::seconds(60));
      v1::EncodeResponse response;
      grpc::Status status = stub->Encode(&context, SmallEncode(i), &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      return response;
    }));
  }
  uint32_t largest = 0;
  for (auto& r : responses) largest = std::max(largest, r.get().timings().batch_size());
  EXPECT_GT(largest, 1u);

  const std::string text = Scrape(server->metrics_port());
  const double count = MetricValue(text, "vidserve_batch_size_count{method=\"encode\"}");
  const double singles =
      MetricValue(text, "vidserve_batch_size_bucket{method=\"encode\",le=\"1\"}");
  ASSERT_GT(count, 0);
  EXPECT_LT(singles, count) << "no encode batch held more than one request:\n" << text;
  EXPECT_LT(count, kRequests);  // fewer forward passes than requests
  server->Shutdown(absl::Seconds(5));
}

TEST(Batching, DifferentShapesAreNotMerged) {
  ServerConfig config = TestConfig();
  config.scheduler.max_queue_delay_us = 100000;
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  auto encode = [&stub](int height) {
    return std::async(std::launch::async, [&stub, height] {
      v1::EncodeRequest request;
      *request.mutable_video() = RandomVideo(1, height, 16);
      grpc::ClientContext context;
      v1::EncodeResponse response;
      EXPECT_TRUE(stub->Encode(&context, request, &response).ok());
      return response;
    });
  };
  auto a = encode(16);
  auto b = encode(32);
  EXPECT_EQ(a.get().timings().batch_size(), 1u);
  EXPECT_EQ(b.get().timings().batch_size(), 1u);
  server->Shutdown(absl::Seconds(5));
}

TEST(ContinuousBatching, AGenerationJoiningARunningOneSharesItsDenoiseSteps) {
  std::unique_ptr<VidServer> server = StartServer(TestConfig());
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  // A long generation is running...
  grpc::ClientContext long_context;
  auto long_reader = stub->Generate(&long_context, LongGenerate());
  v1::GenerateResponse event;
  while (long_reader->Read(&event) && !event.has_progress()) {
  }
  ASSERT_TRUE(event.has_progress());
  // ...a same-shape one arrives, joins between two steps, and every one of its steps runs
  // in a batch of two.
  v1::GenerateRequest joining = LongGenerate();
  joining.set_steps(3);
  joining.set_seed(99);
  GenerateOutcome out = RunGenerate(stub.get(), joining);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_NE(out.summary(), nullptr);
  EXPECT_EQ(out.summary()->max_batch_size(), 2u);
  int progress = 0;
  for (const auto& e : out.events) {
    if (!e.has_progress()) continue;
    ++progress;
    EXPECT_EQ(e.progress().batch_size(), 2u) << "step " << e.progress().step();
  }
  EXPECT_EQ(progress, 3);
  EXPECT_EQ(out.rgb.size(), 17u * 64 * 64 * 3);

  long_context.TryCancel();
  while (long_reader->Read(&event)) {
  }
  long_reader->Finish();
  server->Shutdown(absl::Seconds(5));
}

TEST(ContinuousBatching, TwoConcurrentGenerationsShareDenoiseSteps) {
  std::unique_ptr<VidServer> server = StartServer(TestConfig());
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  auto run = [&stub](uint64_t seed) {
    return std::async(std::launch::async, [&stub, seed] {
      v1::GenerateRequest request = SmallGenerate(30, seed);
      request.set_height(32);
      request.set_width(32);
      return RunGenerate(stub.get(), request);
    });
  };
  auto a = run(1);
  auto b = run(2);
  GenerateOutcome out_a = a.get(), out_b = b.get();
  ASSERT_TRUE(out_a.status.ok()) << out_a.status.error_message();
  ASSERT_TRUE(out_b.status.ok()) << out_b.status.error_message();
  EXPECT_EQ(out_a.summary()->max_batch_size(), 2u);
  EXPECT_EQ(out_b.summary()->max_batch_size(), 2u);
  server->Shutdown(absl::Seconds(5));
}

TEST(Cancellation, CancelMidGenerateStopsItsDenoiseSteps) {
  std::unique_ptr<VidServer> server = StartServer(TestConfig());
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  const double steps_before = DenoiseSteps(*server);
  v1::GenerateRequest request = LongGenerate();
  grpc::ClientContext context;
  auto reader = stub->Generate(&context, request);
  v1::GenerateResponse event;
  int progress = 0;
  while (progress < 2 && reader->Read(&event)) {
    if (event.has_progress()) ++progress;
  }
  ASSERT_EQ(progress, 2);
  context.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // The worker drops it at the next step boundary. The server records the CANCELLED
  // request only once the worker has let go of it (the reactor finishes after the
  // scheduler's last callback), so wait for that event, not for a quiet period that a slow
  // step on a loaded machine could outlast.
  const std::string cancelled = "vidserve_requests_total{code=\"CANCELLED\",method=\"generate\"}";
  for (int i = 0; i < 600 && MetricValue(Scrape(server->metrics_port()), cancelled) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(MetricValue(Scrape(server->metrics_port()), cancelled), 1);
  const double settled = DenoiseSteps(*server);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(DenoiseSteps(*server), settled);
  EXPECT_LT(settled - steps_before, 100);
  // And the worker moved on.
  EXPECT_TRUE(RunGenerate(stub.get(), SmallGenerate(1)).status.ok());
  const std::string text = Scrape(server->metrics_port());
  EXPECT_GE(MetricValue(text, "vidserve_requests_total{code=\"CANCELLED\",method=\"generate\"}"),
            1);
  server->Shutdown(absl::Seconds(5));
}

TEST(Deadlines, GenerateDeadlineStopsItAtAStepBoundary) {
  std::unique_ptr<VidServer> server = StartServer(TestConfig());
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  // Long on any device: the server warms up the default 17x64x64 shape, after which 100
  // of its steps took about 0.3 s on an H200; 65 frames and a 100 ms deadline leave a wide
  // margin there and cost the CPU one step at most past the deadline.
  v1::GenerateRequest request = LongGenerate();
  request.set_frames(65);
  GenerateOutcome out = RunGenerate(stub.get(), request, std::chrono::milliseconds(100));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(out.summary(), nullptr);
  EXPECT_TRUE(RunGenerate(stub.get(), SmallGenerate(1)).status.ok());
  server->Shutdown(absl::Seconds(5));
}

TEST(Deadlines, EncodeWhoseDeadlinePassesInTheQueueIsNotComputed) {
  ServerConfig config = TestConfig();
  config.scheduler.max_queue_delay_us = 500000;  // the lone request waits 0.5 s for mates
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  grpc::ClientContext context;
  SetTimeout(&context, std::chrono::milliseconds(100));
  v1::EncodeResponse response;
  EXPECT_EQ(stub->Encode(&context, SmallEncode(), &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server learns of it when the batch forms and reports it without computing.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const std::string text = Scrape(server->metrics_port());
  EXPECT_EQ(
      MetricValue(text, "vidserve_requests_total{code=\"DEADLINE_EXCEEDED\",method=\"encode\"}"),
      1);
  EXPECT_EQ(MetricValue(text, "vidserve_compute_duration_seconds_count{method=\"encode\"}"), 0);
  server->Shutdown(absl::Seconds(5));
}

TEST(Backpressure, FullGenerateQueueAnswersResourceExhaustedNamingTheQueue) {
  ServerConfig config = TestConfig();
  config.scheduler.max_queue_size = 1;
  config.scheduler.max_active_generations = 1;
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  v1::GenerateRequest long_request = LongGenerate();

  grpc::ClientContext running_context, waiting_context;
  auto running = stub->Generate(&running_context, long_request);
  v1::GenerateResponse event;
  while (running->Read(&event) && !event.has_progress()) {
  }
  ASSERT_TRUE(event.has_progress()) << "the first generation never started";
  auto waiting = stub->Generate(&waiting_context, long_request);
  ASSERT_TRUE(waiting->Read(&event) && event.has_queued());
  EXPECT_EQ(event.queued().queue_position(), 0u);

  GenerateOutcome rejected = RunGenerate(stub.get(), long_request);
  EXPECT_EQ(rejected.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(rejected.status.error_message(), "generate queue is full (max_queue_size 1)");

  running_context.TryCancel();
  waiting_context.TryCancel();
  while (running->Read(&event)) {
  }
  while (waiting->Read(&event)) {
  }
  running->Finish();
  waiting->Finish();
  // The client sees CANCELLED at once; the server frees the slots at its next step boundary.
  for (int i = 0; i < 500; ++i) {
    if (MetricValue(Scrape(server->metrics_port()),
                    "vidserve_inflight_requests{method=\"generate\"}") == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(RunGenerate(stub.get(), SmallGenerate(1)).status.ok());
  server->Shutdown(absl::Seconds(5));
}

TEST(Backpressure, FullEncodeQueueAnswersResourceExhausted) {
  ServerConfig config = TestConfig();
  config.scheduler.max_queue_size = 1;
  config.scheduler.max_queue_delay_us = 1000000;
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  auto first = std::async(std::launch::async, [&stub] {
    grpc::ClientContext context;
    v1::EncodeResponse response;
    return stub->Encode(&context, SmallEncode(), &response).error_code();
  });
  // Wait until the first request sits in the queue.
  for (int i = 0; i < 100; ++i) {
    if (MetricValue(Scrape(server->metrics_port()), "vidserve_queue_depth{method=\"encode\"}") == 1)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  grpc::ClientContext context;
  v1::EncodeResponse response;
  grpc::Status status = stub->Encode(&context, SmallEncode(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "encode queue is full (max_queue_size 1)");
  EXPECT_EQ(first.get(), grpc::StatusCode::OK);
  server->Shutdown(absl::Seconds(5));
}

TEST(Limits, OversizeMessageIsRejectedAndTheServerKeepsServing) {
  ServerConfig config = TestConfig();
  config.limits.max_message_bytes = 64 * 1024;
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  v1::EncodeRequest big;
  *big.mutable_video() = RandomVideo(17, 64, 64);  // 208896 bytes of pixels
  grpc::ClientContext context;
  v1::EncodeResponse response;
  EXPECT_EQ(stub->Encode(&context, big, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::ClientContext small_context;
  EXPECT_TRUE(stub->Encode(&small_context, SmallEncode(), &response).ok());
  server->Shutdown(absl::Seconds(5));
}

TEST(Lifecycle, ShutdownDrainsInFlightGenerateAndRefusesNewCalls) {
  std::unique_ptr<VidServer> server = StartServer(TestConfig());
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  const int port = server->port();
  v1::GenerateRequest request = SmallGenerate(/*steps=*/40);
  request.set_height(64);
  request.set_width(64);
  grpc::ClientContext context;
  auto reader = stub->Generate(&context, request);
  v1::GenerateResponse event;
  while (reader->Read(&event) && !event.has_progress()) {
  }
  ASSERT_TRUE(event.has_progress());

  std::thread shutdown([&server] { server->Shutdown(absl::Seconds(60)); });
  while (server->serving()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Draining: new work is refused, health says NOT_SERVING.
  grpc::ClientContext refused_context;
  v1::EncodeResponse response;
  grpc::Status refused = stub->Encode(&refused_context, SmallEncode(), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.error_message(), HasSubstr("draining"));
  EXPECT_EQ(HealthStatus(port), 2);
  int http_status = 0;
  Scrape(server->metrics_port(), "/healthz", &http_status);
  EXPECT_EQ(http_status, 503);

  // ...while the generation in flight runs to completion.
  bool summary = false;
  while (reader->Read(&event)) summary = summary || event.has_summary();
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(summary);
  shutdown.join();

  grpc::ClientContext after_context;
  SetTimeout(&after_context, std::chrono::seconds(2));
  EXPECT_EQ(stub->Encode(&after_context, SmallEncode(), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(Lifecycle, DrainTimeoutFailsUnfinishedWorkWithUnavailable) {
  std::unique_ptr<VidServer> server = StartServer(TestConfig());
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  v1::GenerateRequest request = LongGenerate();
  grpc::ClientContext context;
  auto reader = stub->Generate(&context, request);
  v1::GenerateResponse event;
  while (reader->Read(&event) && !event.has_progress()) {
  }
  server->Shutdown(absl::Milliseconds(50));
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(Lifecycle, BusyPortIsReportedNamingListen) {
  std::unique_ptr<VidServer> first = StartServer(TestConfig());
  ASSERT_NE(first, nullptr);
  ServerConfig config = TestConfig();
  config.listen = "127.0.0.1:" + std::to_string(first->port());
  config.warmup = false;
  absl::StatusOr<std::unique_ptr<VidServer>> second = VidServer::Create(config);
  ASSERT_TRUE(second.ok());
  absl::Status status = (*second)->Start();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("listen"));
  first->Shutdown(absl::Seconds(5));
}

}  // namespace
}  // namespace vidserve

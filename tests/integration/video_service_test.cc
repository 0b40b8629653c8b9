// Each RPC end to end against one shared server (tiny preset, CPU, small sizes).
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/half_float.h"
#include "tests/integration/test_server.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;
using namespace vidserve::testing;  // NOLINT

class VideoServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = StartServer(TestConfig()).release(); }
  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    stub_ = MakeStub(server_->port());
  }

  int64_t LatentChannels() const { return server_->model_info().config.vae.latent_channels; }

  static VidServer* server_;
  std::unique_ptr<v1::VideoService::Stub> stub_;
};

VidServer* VideoServiceTest::server_ = nullptr;

TEST_F(VideoServiceTest, HealthIsServingAfterWarmUp) {
  EXPECT_TRUE(server_->serving());
  EXPECT_EQ(HealthStatus(server_->port()), 1);
  EXPECT_EQ(HealthStatus(server_->port(), "vidserve.v1.VideoService"), 1);
  int status = 0;
  EXPECT_EQ(Scrape(server_->metrics_port(), "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);
}

TEST_F(VideoServiceTest, GetModelInfoDescribesModelLimitsAndDefaults) {
  grpc::ClientContext context;
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub_->GetModelInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.preset(), "tiny");
  EXPECT_FALSE(info.model_name().empty());
  EXPECT_FALSE(info.trained());  // random weights: no checkpoint given
  EXPECT_EQ(info.checkpoint(), "");
  EXPECT_THAT(info.devices(), ::testing::ElementsAre(server_->model_info().device));
  EXPECT_FALSE(info.mixers().empty());
  EXPECT_THAT(info.presets(), ::testing::Contains("tiny"));
  EXPECT_EQ(info.latent_channels(), LatentChannels());
  EXPECT_EQ(info.temporal_compression(), 4u);
  EXPECT_EQ(info.spatial_compression(), 8u);
  EXPECT_GT(info.vae_parameters(), 0);
  EXPECT_GT(info.thin_decoder_parameters(), 0);
  EXPECT_LT(info.thin_decoder_parameters(), info.vae_parameters());
  EXPECT_GT(info.denoiser_parameters(), 0);
  EXPECT_GT(info.limits().max_frames(), 0u);
  EXPECT_GT(info.limits().max_steps(), 0u);
  EXPECT_EQ(info.limits().max_batch_size(), 8u);
  EXPECT_EQ(info.limits().max_message_bytes(), 268435456u);
  EXPECT_GT(info.defaults().steps(), 0u);
  EXPECT_EQ(info.defaults().fps(), 24.0);
  EXPECT_EQ(info.version(), VIDSERVE_VERSION);
  EXPECT_FALSE(info.torch_version().empty());
  // The default decode settings: float32 NCDHW conv3d; CUDA graphs and the direct kernel
  // on CUDA only (VIDSERVE_TEST_DEVICE=cuda), the fused norm on every device.
  const bool on_cuda = server_->model_info().device.rfind("cuda", 0) == 0;
  EXPECT_EQ(info.decode().precision(), "float32");
  EXPECT_EQ(info.decode().cuda_graphs(), server_->model_info().cuda_graph_decode);
  EXPECT_FALSE(info.decode().channels_last());
  EXPECT_FALSE(info.decode().conv2d());
  if (!on_cuda) EXPECT_FALSE(info.decode().direct_conv());
  EXPECT_EQ(info.decode().direct_conv(), server_->model_info().decode_direct_conv);
  EXPECT_TRUE(info.decode().fused_norm());
  // The tiny preset's sampler: guidance on every step, deterministic Euler steps.
  EXPECT_EQ(info.sampler().guidance_min_t(), 0.0);
  EXPECT_EQ(info.sampler().guidance_max_t(), 1.0);
  EXPECT_EQ(info.sampler().stochasticity(), 0.0);
  EXPECT_EQ(info.sampler().timestep_shift(), 1.0);
}

// model.sampler in the server config replaces the model's sampler settings: GetModelInfo
// reports them, and a stochastic sampler still gives the same video for the same seed.
TEST(VideoServiceSamplerConfig, ServerConfigSamplerKeysReachGenerate) {
  ServerConfig config = TestConfig();
  config.model.sampler.guidance_min_t = 0.5;
  config.model.sampler.stochasticity = 1.0;
  std::unique_ptr<VidServer> server = StartServer(config);
  ASSERT_NE(server, nullptr);
  auto stub = MakeStub(server->port());
  grpc::ClientContext context;
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub->GetModelInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.sampler().guidance_min_t(), 0.5);
  EXPECT_EQ(info.sampler().guidance_max_t(), 1.0);
  EXPECT_EQ(info.sampler().stochasticity(), 1.0);
  const GenerateOutcome a = RunGenerate(stub.get(), SmallGenerate(/*steps=*/4, /*seed=*/11));
  const GenerateOutcome b = RunGenerate(stub.get(), SmallGenerate(/*steps=*/4, /*seed=*/11));
  const GenerateOutcome c = RunGenerate(stub.get(), SmallGenerate(/*steps=*/4, /*seed=*/12));
  ASSERT_TRUE(a.status.ok() && b.status.ok() && c.status.ok()) << a.status.error_message();
  EXPECT_FALSE(a.rgb.empty());
  EXPECT_EQ(a.rgb, b.rgb);
  EXPECT_NE(a.rgb, c.rgb);
  ASSERT_NE(a.summary(), nullptr);
  EXPECT_EQ(a.summary()->guidance_min_t(), 0.5);
  EXPECT_EQ(a.summary()->stochasticity(), 1.0);

  // A request's own settings replace the server's for that request alone, and the Summary
  // says what ran; the same seed with other settings gives another video.
  v1::GenerateRequest euler = SmallGenerate(/*steps=*/4, /*seed=*/11);
  euler.set_guidance_min_t(0.0);
  euler.set_stochasticity(0.0);
  const GenerateOutcome d = RunGenerate(stub.get(), euler);
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  ASSERT_NE(d.summary(), nullptr);
  EXPECT_EQ(d.summary()->guidance_min_t(), 0.0);
  EXPECT_EQ(d.summary()->guidance_max_t(), 1.0);
  EXPECT_EQ(d.summary()->stochasticity(), 0.0);
  EXPECT_NE(d.rgb, a.rgb);

  // Out of range: INVALID_ARGUMENT naming the field, and the server serves on.
  v1::GenerateRequest bad = SmallGenerate(/*steps=*/4, /*seed=*/11);
  bad.set_stochasticity(-2);
  const GenerateOutcome e = RunGenerate(stub.get(), bad);
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(e.status.error_message(), HasSubstr("stochasticity: must be in [0, 4], got -2"));
  EXPECT_EQ(RunGenerate(stub.get(), SmallGenerate(/*steps=*/4, /*seed=*/11)).rgb, a.rgb);
  server->Shutdown(absl::Seconds(5));
}

TEST_F(VideoServiceTest, EncodeThenDecodeRoundTripsShapesAndBytes) {
  v1::EncodeRequest encode;
  *encode.mutable_video() = RandomVideo(5, 32, 16);
  v1::EncodeResponse encoded;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->Encode(&context, encode, &encoded);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const v1::Latent& latent = encoded.latent();
  EXPECT_THAT(latent.shape(), ::testing::ElementsAre(LatentChannels(), 2, 4, 2));
  EXPECT_EQ(latent.dtype(), v1::DTYPE_FLOAT32);
  EXPECT_EQ(latent.data().size(), static_cast<size_t>(LatentChannels() * 2 * 4 * 2 * 4));
  EXPECT_GE(encoded.timings().batch_size(), 1u);
  EXPECT_GT(encoded.timings().total_seconds(), 0);

  // Each served decode is one forward pass in the decode-part metrics, under its decoder.
  auto decode_parts = [this](const std::string& metric, const char* decoder) {
    return MetricValue(Scrape(server_->metrics_port()),
                       "vidserve_decode_" + metric + "_seconds_count{decoder=\"" + decoder + "\"}");
  };
  for (v1::Decoder decoder : {v1::DECODER_FULL, v1::DECODER_THIN}) {
    const char* name = decoder == v1::DECODER_FULL ? "full" : "thin";
    const char* other = decoder == v1::DECODER_FULL ? "thin" : "full";
    const double network_before = decode_parts("network", name);
    const double copy_before = decode_parts("copy_out", name);
    const double other_before = decode_parts("network", other);
    v1::DecodeRequest decode;
    *decode.mutable_latent() = latent;
    decode.set_decoder(decoder);
    decode.set_fps(12);
    v1::DecodeResponse decoded;
    grpc::ClientContext context;
    grpc::Status status = stub_->Decode(&context, decode, &decoded);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(decoded.video().frames(), 5u);
    EXPECT_EQ(decoded.video().height(), 32u);
    EXPECT_EQ(decoded.video().width(), 16u);
    EXPECT_EQ(decoded.video().fps(), 12.0);
    EXPECT_EQ(decoded.video().rgb().size(), 5u * 32 * 16 * 3);
    EXPECT_EQ(decode_parts("network", name), network_before + 1) << name;
    EXPECT_EQ(decode_parts("copy_out", name), copy_before + 1) << name;
    EXPECT_EQ(decode_parts("network", other), other_before) << name;
  }
}

TEST_F(VideoServiceTest, Float16LatentsMatchFloat32WithinHalfPrecision) {
  v1::EncodeRequest encode;
  *encode.mutable_video() = RandomVideo(1, 16, 16);
  v1::EncodeResponse f32, f16;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Encode(&context, encode, &f32).ok());
  }
  encode.set_latent_dtype(v1::DTYPE_FLOAT16);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Encode(&context, encode, &f16).ok());
  }
  ASSERT_EQ(f16.latent().dtype(), v1::DTYPE_FLOAT16);
  ASSERT_EQ(f16.latent().data().size() * 2, f32.latent().data().size());
  const auto* halves = reinterpret_cast<const uint16_t*>(f16.latent().data().data());
  const auto* floats = reinterpret_cast<const float*>(f32.latent().data().data());
  for (size_t i = 0; i < f16.latent().data().size() / 2; ++i) {
    EXPECT_NEAR(HalfToFloat(halves[i]), floats[i], 1e-3 + 1e-3 * std::abs(floats[i]));
  }
  // And a float16 latent decodes like any other.
  v1::DecodeRequest decode;
  *decode.mutable_latent() = f16.latent();
  v1::DecodeResponse decoded;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->Decode(&context, decode, &decoded).ok());
  EXPECT_EQ(decoded.video().rgb().size(), 16u * 16 * 3);
}

TEST_F(VideoServiceTest, GenerateStreamsQueuedThenProgressPerStepThenChunksThenSummary) {
  v1::GenerateRequest request = SmallGenerate(/*steps=*/3);
  request.set_frames_per_chunk(2);
  request.set_fps(10);
  request.set_return_latent(true);
  GenerateOutcome out = RunGenerate(stub_.get(), request);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.events.size(), 1u + 3 + 3 + 1);  // queued, 3 steps, chunks of 2+2+1, summary
  EXPECT_TRUE(out.events[0].has_queued());
  for (int step = 1; step <= 3; ++step) {
    const v1::GenerateResponse& event = out.events[step];
    ASSERT_TRUE(event.has_progress());
    EXPECT_EQ(event.progress().step(), static_cast<uint32_t>(step));
    EXPECT_EQ(event.progress().total_steps(), 3u);
    EXPECT_GE(event.progress().batch_size(), 1u);
  }
  const uint32_t first_frames[] = {0, 2, 4};
  const uint32_t chunk_frames[] = {2, 2, 1};
  for (int i = 0; i < 3; ++i) {
    const v1::GenerateResponse& event = out.events[4 + i];
    ASSERT_TRUE(event.has_chunk());
    EXPECT_EQ(event.chunk().first_frame(), first_frames[i]);
    EXPECT_EQ(event.chunk().video().frames(), chunk_frames[i]);
    EXPECT_EQ(event.chunk().video().height(), 16u);
    EXPECT_EQ(event.chunk().video().fps(), 10.0);
  }
  EXPECT_EQ(out.rgb.size(), 5u * 16 * 16 * 3);
  const v1::Summary* summary = out.summary();
  ASSERT_NE(summary, nullptr);
  EXPECT_EQ(summary->seed(), 7u);
  EXPECT_EQ(summary->frames(), 5u);
  EXPECT_EQ(summary->height(), 16u);
  EXPECT_EQ(summary->width(), 16u);
  EXPECT_EQ(summary->steps(), 3u);
  EXPECT_EQ(summary->fps(), 10.0);
  EXPECT_EQ(summary->decoder(), v1::DECODER_FULL);
  EXPECT_GE(summary->max_batch_size(), 1u);
  EXPECT_GT(summary->denoise_seconds(), 0);
  EXPECT_GT(summary->total_seconds(), 0);
  EXPECT_GE(summary->total_seconds(), summary->time_to_first_frame_seconds());
  EXPECT_THAT(summary->latent().shape(), ::testing::ElementsAre(LatentChannels(), 2, 2, 2));
}

TEST_F(VideoServiceTest, SameSeedGivesIdenticalBytes) {
  GenerateOutcome a = RunGenerate(stub_.get(), SmallGenerate(2, 1234));
  GenerateOutcome b = RunGenerate(stub_.get(), SmallGenerate(2, 1234));
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  EXPECT_EQ(a.rgb.size(), 5u * 16 * 16 * 3);
  EXPECT_EQ(a.rgb, b.rgb);
  GenerateOutcome c = RunGenerate(stub_.get(), SmallGenerate(2, 999));
  ASSERT_TRUE(c.status.ok());
  EXPECT_NE(a.rgb, c.rgb);
}

TEST_F(VideoServiceTest, UnseededGenerateReportsASeedThatReproducesIt) {
  GenerateOutcome first = RunGenerate(stub_.get(), SmallGenerate(2, std::nullopt));
  ASSERT_TRUE(first.status.ok());
  ASSERT_NE(first.summary(), nullptr);
  GenerateOutcome again = RunGenerate(stub_.get(), SmallGenerate(2, first.summary()->seed()));
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(first.rgb, again.rgb);
}

TEST_F(VideoServiceTest, MetricsEndpointCountsRequestsByMethodAndCode) {
  {
    grpc::ClientContext context;
    v1::GetModelInfoResponse info;
    ASSERT_TRUE(stub_->GetModelInfo(&context, {}, &info).ok());
  }
  {
    grpc::ClientContext context;
    v1::EncodeResponse response;
    ASSERT_FALSE(stub_->Encode(&context, v1::EncodeRequest{}, &response).ok());
  }
  const std::string text = Scrape(server_->metrics_port());
  EXPECT_GE(MetricValue(text, "vidserve_requests_total{code=\"OK\",method=\"get_model_info\"}"), 1);
  EXPECT_GE(
      MetricValue(text, "vidserve_requests_total{code=\"INVALID_ARGUMENT\",method=\"encode\"}"), 1);
  for (const char* name : {"vidserve_request_duration_seconds_bucket", "vidserve_queue_depth",
                           "vidserve_inflight_requests", "vidserve_process_resident_memory_bytes",
                           "vidserve_build_info", "vidserve_denoise_steps_total"}) {
    EXPECT_THAT(text, HasSubstr(name));
  }
  EXPECT_GT(MetricValue(text, "vidserve_process_resident_memory_bytes"), 1e6);
}

TEST_F(VideoServiceTest, GpuMemoryGaugesExistExactlyWhenServingOnCuda) {
  {
    v1::EncodeRequest encode;
    *encode.mutable_video() = RandomVideo(1, 16, 16);
    grpc::ClientContext context;
    v1::EncodeResponse response;
    ASSERT_TRUE(stub_->Encode(&context, encode, &response).ok());
  }
  const std::string device = server_->model_info().device;
  const std::string text = Scrape(server_->metrics_port());
  if (device.rfind("cuda", 0) == 0) {
    const std::string labels = "{device=\"" + device + "\"}";
    EXPECT_GT(MetricValue(text, "vidserve_gpu_memory_total_bytes" + labels), 0) << text;
    EXPECT_GT(MetricValue(text, "vidserve_gpu_memory_peak_bytes" + labels), 0);
    EXPECT_GE(MetricValue(text, "vidserve_gpu_memory_reserved_bytes" + labels), 0);
    EXPECT_GE(MetricValue(text, "vidserve_gpu_memory_allocated_bytes" + labels), 0);
    EXPECT_THAT(text, HasSubstr("cuda=\"true\""));
  } else {
    EXPECT_THAT(text, ::testing::Not(HasSubstr("vidserve_gpu_memory")));
    EXPECT_THAT(text, HasSubstr("cuda=\"false\""));
  }
}

// ---- invalid requests: INVALID_ARGUMENT naming the field, and the server keeps serving ----

TEST_F(VideoServiceTest, EveryInvalidEncodeFieldIsNamed) {
  struct Case {
    v1::EncodeRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({v1::EncodeRequest{}, "video: required"});
  v1::EncodeRequest r;
  *r.mutable_video() = RandomVideo(4, 16, 16);
  cases.push_back({r, "video.frames: must be 4k+1"});
  *r.mutable_video() = RandomVideo(1, 24, 16);
  cases.push_back({r, "video.height: must be a multiple of 16"});
  *r.mutable_video() = RandomVideo(1, 16, 8);
  cases.push_back({r, "video.width: must be a multiple of 16"});
  *r.mutable_video() = RandomVideo(1, 16, 16);
  r.mutable_video()->set_rgb("short");
  cases.push_back({r, "video.rgb: expected 768 bytes (1x16x16x3), got 5"});
  *r.mutable_video() = RandomVideo(1, 16, 16);
  r.set_latent_dtype(static_cast<v1::DType>(3));
  cases.push_back({r, "latent_dtype: unknown value 3"});
  for (const Case& c : cases) {
    grpc::ClientContext context;
    v1::EncodeResponse response;
    grpc::Status status = stub_->Encode(&context, c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  grpc::ClientContext context;
  v1::EncodeRequest valid;
  *valid.mutable_video() = RandomVideo(1, 16, 16);
  v1::EncodeResponse response;
  EXPECT_TRUE(stub_->Encode(&context, valid, &response).ok());
}

TEST_F(VideoServiceTest, EveryInvalidDecodeFieldIsNamed) {
  const int64_t c = LatentChannels();
  auto make = [](std::vector<int64_t> shape, size_t bytes) {
    v1::DecodeRequest request;
    for (int64_t d : shape) request.mutable_latent()->add_shape(d);
    request.mutable_latent()->set_data(std::string(bytes, '\0'));
    return request;
  };
  struct Case {
    v1::DecodeRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({v1::DecodeRequest{}, "latent: required"});
  cases.push_back({make({c, 1, 2}, c * 2 * 4), "latent.shape: must have 4 dimensions"});
  cases.push_back({make({c + 1, 1, 2, 2}, (c + 1) * 4 * 4), "latent.shape[0]: channels"});
  cases.push_back({make({c, 0, 2, 2}, 0), "latent.shape[1]"});
  cases.push_back({make({c, 1, 2, 2}, 10), "latent.data: expected"});
  v1::DecodeRequest bad_decoder = make({c, 1, 2, 2}, c * 4 * 4);
  bad_decoder.set_decoder(static_cast<v1::Decoder>(7));
  cases.push_back({bad_decoder, "decoder: unknown value 7"});
  v1::DecodeRequest bad_dtype = make({c, 1, 2, 2}, c * 4 * 4);
  bad_dtype.mutable_latent()->set_dtype(static_cast<v1::DType>(4));
  cases.push_back({bad_dtype, "latent.dtype: unknown value 4"});
  v1::DecodeRequest bad_fps = make({c, 1, 2, 2}, c * 4 * 4);
  bad_fps.set_fps(-1);
  cases.push_back({bad_fps, "fps: must be"});
  for (const Case& k : cases) {
    grpc::ClientContext context;
    v1::DecodeResponse response;
    grpc::Status status = stub_->Decode(&context, k.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << k.field;
    EXPECT_THAT(status.error_message(), HasSubstr(k.field));
  }
  grpc::ClientContext context;
  v1::DecodeResponse response;
  EXPECT_TRUE(stub_->Decode(&context, make({c, 1, 2, 2}, c * 4 * 4), &response).ok());
}

TEST_F(VideoServiceTest, EveryInvalidGenerateFieldIsNamed) {
  struct Case {
    std::function<void(v1::GenerateRequest*)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](auto* r) { r->set_prompt(""); }, "prompt: must be 1.."},
      {[](auto* r) { r->set_prompt(std::string(100000, 'x')); }, "prompt: must be 1.."},
      {[](auto* r) { r->set_frames(16); }, "frames: must be 4k+1"},
      {[](auto* r) { r->set_frames(100001); }, "frames: must be 4k+1"},
      {[](auto* r) { r->set_height(17); }, "height: must be a multiple of 16"},
      {[](auto* r) { r->set_width(100000); }, "width: must be a multiple of 16"},
      {[](auto* r) { r->set_steps(100000); }, "steps: must be in [1, "},
      {[](auto* r) { r->set_guidance(-0.5f); }, "guidance: must be in [0, "},
      {[](auto* r) { r->set_decoder(static_cast<v1::Decoder>(7)); }, "decoder: unknown value 7"},
      {[](auto* r) { r->set_fps(-24); }, "fps: must be"},
  };
  for (const Case& c : cases) {
    v1::GenerateRequest request = SmallGenerate();
    c.mutate(&request);
    GenerateOutcome out = RunGenerate(stub_.get(), request);
    EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(out.status.error_message(), HasSubstr(c.field));
    EXPECT_TRUE(out.events.empty());
  }
  EXPECT_TRUE(RunGenerate(stub_.get(), SmallGenerate(1)).status.ok());
}

TEST_F(VideoServiceTest, ServerReflectionListsTheService) {
  // Reflection is a bidi stream; checking its registration through the health of the
  // channel would prove nothing, so ask for the method list like grpcurl does.
  grpc::GenericStub stub(MakeChannel(server_->port()));
  grpc::ClientContext context;
  SetTimeout(&context, std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  // ServerReflectionRequest { list_services = 7: "" }
  const std::string request_bytes("\x3a\x00", 2);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("vidserve.v1.VideoService"));
  context.TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(4)) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace vidserve

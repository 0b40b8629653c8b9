#include "server/request_validation.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/half_float.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;

RequestLimits Limits() { return RequestLimits{}; }  // 65 frames, 256x256, 100 steps, 8 channels

v1::EncodeRequest ValidEncode(int frames = 17, int height = 64, int width = 64) {
  v1::EncodeRequest request;
  v1::Video* video = request.mutable_video();
  video->set_frames(frames);
  video->set_height(height);
  video->set_width(width);
  video->set_rgb(std::string(static_cast<size_t>(frames) * height * width * 3, '\x80'));
  return request;
}

v1::DecodeRequest ValidDecode(std::vector<int64_t> shape = {8, 5, 8, 8}) {
  v1::DecodeRequest request;
  int64_t n = 1;
  for (int64_t d : shape) {
    request.mutable_latent()->add_shape(d);
    n *= d;
  }
  request.mutable_latent()->set_data(std::string(std::max<int64_t>(n, 0) * 4, '\0'));
  return request;
}

v1::GenerateRequest ValidGenerate() {
  v1::GenerateRequest request;
  request.set_prompt("a red circle");
  return request;
}

template <typename T>
std::string ErrorOf(const absl::StatusOr<T>& result) {
  EXPECT_FALSE(result.ok());
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  return std::string(result.status().message());
}

TEST(ValidateEncodeRequest, AcceptsAValidClip) {
  absl::StatusOr<EncodeInput> input = ValidateEncodeRequest(ValidEncode(), Limits());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->clip.frames, 17);
  EXPECT_EQ(input->clip.rgb.size(), 17u * 64 * 64 * 3);
  EXPECT_EQ(input->clip.fps, 24.0);  // 0 means 24
  EXPECT_EQ(input->latent_dtype, v1::DTYPE_FLOAT32);
}

TEST(ValidateEncodeRequest, MissingVideoIsNamed) {
  EXPECT_EQ(ErrorOf(ValidateEncodeRequest(v1::EncodeRequest{}, Limits())), "video: required");
}

TEST(ValidateEncodeRequest, FramesMustBe4kPlus1InRange) {
  v1::EncodeRequest request = ValidEncode();
  request.mutable_video()->set_frames(16);
  EXPECT_EQ(ErrorOf(ValidateEncodeRequest(request, Limits())),
            "video.frames: must be 4k+1 in [1, 65], got 16");
  request.mutable_video()->set_frames(0);
  EXPECT_THAT(ErrorOf(ValidateEncodeRequest(request, Limits())), HasSubstr("got 0"));
  request.mutable_video()->set_frames(69);
  EXPECT_THAT(ErrorOf(ValidateEncodeRequest(request, Limits())), HasSubstr("got 69"));
}

TEST(ValidateEncodeRequest, SidesMustBeMultiplesOf16InRange) {
  v1::EncodeRequest request = ValidEncode();
  request.mutable_video()->set_height(60);
  EXPECT_EQ(ErrorOf(ValidateEncodeRequest(request, Limits())),
            "video.height: must be a multiple of 16 in [16, 256], got 60");
  request = ValidEncode();
  request.mutable_video()->set_width(512);
  EXPECT_THAT(ErrorOf(ValidateEncodeRequest(request, Limits())),
              HasSubstr("video.width: must be a multiple of 16 in [16, 256], got 512"));
}

TEST(ValidateEncodeRequest, RgbByteCountMustMatchTheShape) {
  v1::EncodeRequest request = ValidEncode();
  request.mutable_video()->set_rgb(std::string(100, '\0'));
  EXPECT_EQ(ErrorOf(ValidateEncodeRequest(request, Limits())),
            "video.rgb: expected 208896 bytes (17x64x64x3), got 100");
}

TEST(ValidateEncodeRequest, FpsAndDtypeAreChecked) {
  v1::EncodeRequest request = ValidEncode();
  request.mutable_video()->set_fps(-1);
  EXPECT_THAT(ErrorOf(ValidateEncodeRequest(request, Limits())), HasSubstr("video.fps"));
  request.mutable_video()->set_fps(1000);
  EXPECT_THAT(ErrorOf(ValidateEncodeRequest(request, Limits())), HasSubstr("video.fps"));
  request = ValidEncode();
  request.set_latent_dtype(static_cast<v1::DType>(9));
  EXPECT_THAT(ErrorOf(ValidateEncodeRequest(request, Limits())),
              HasSubstr("latent_dtype: unknown value 9"));
}

TEST(ValidateDecodeRequest, AcceptsFloat32AndConvertsFloat16) {
  absl::StatusOr<DecodeInput> input = ValidateDecodeRequest(ValidDecode(), Limits());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->latent.shape, (std::array<int64_t, 4>{8, 5, 8, 8}));
  EXPECT_EQ(input->decoder, DecoderKind::kFull);

  v1::DecodeRequest half = ValidDecode({8, 1, 2, 2});
  half.mutable_latent()->set_dtype(v1::DTYPE_FLOAT16);
  std::string bytes;
  for (int i = 0; i < 32; ++i) {
    const uint16_t h = FloatToHalf(0.5f * i);
    bytes.push_back(static_cast<char>(h & 0xff));
    bytes.push_back(static_cast<char>(h >> 8));
  }
  half.mutable_latent()->set_data(bytes);
  half.set_decoder(v1::DECODER_THIN);
  input = ValidateDecodeRequest(half, Limits());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->latent.data[3], 1.5f);
  EXPECT_EQ(input->latent.data[31], 15.5f);
  EXPECT_EQ(input->decoder, DecoderKind::kThin);
}

TEST(ValidateDecodeRequest, MissingLatentIsNamed) {
  EXPECT_EQ(ErrorOf(ValidateDecodeRequest(v1::DecodeRequest{}, Limits())), "latent: required");
}

TEST(ValidateDecodeRequest, ShapeRankChannelsAndSizesAreChecked) {
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(ValidDecode({8, 5, 8}), Limits())),
              HasSubstr("latent.shape: must have 4 dimensions"));
  EXPECT_THAT(
      ErrorOf(ValidateDecodeRequest(ValidDecode({4, 5, 8, 8}), Limits())),
      HasSubstr("latent.shape[0]: channels must equal the model's latent_channels 8, got 4"));
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(ValidDecode({8, 0, 8, 8}), Limits())),
              HasSubstr("latent.shape[1]: must be in [1, 17], got 0"));
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(ValidDecode({8, 5, 33, 8}), Limits())),
              HasSubstr("latent.shape[2]: must be in [1, 32], got 33"));
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(ValidDecode({8, 5, 8, -1}), Limits())),
              HasSubstr("latent.shape[3]"));
}

TEST(ValidateDecodeRequest, DataByteCountMustMatchShapeAndDtype) {
  v1::DecodeRequest request = ValidDecode();
  request.mutable_latent()->set_dtype(v1::DTYPE_FLOAT16);  // data is sized for float32
  EXPECT_EQ(ErrorOf(ValidateDecodeRequest(request, Limits())),
            "latent.data: expected 5120 bytes for shape [8,5,8,8] float16, got 10240");
  request = ValidDecode();
  request.mutable_latent()->set_data("abc");
  EXPECT_EQ(ErrorOf(ValidateDecodeRequest(request, Limits())),
            "latent.data: expected 10240 bytes for shape [8,5,8,8] float32, got 3");
}

TEST(ValidateDecodeRequest, NonFiniteValuesAreRejected) {
  v1::DecodeRequest request = ValidDecode({8, 1, 1, 1});
  std::string data(32, '\0');
  const float nan = std::nanf("");
  std::memcpy(&data[8], &nan, 4);
  request.mutable_latent()->set_data(data);
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(request, Limits())),
              HasSubstr("latent.data: element 2 is not finite"));
}

TEST(ValidateDecodeRequest, DecoderDtypeAndFpsAreChecked) {
  v1::DecodeRequest request = ValidDecode();
  request.set_decoder(static_cast<v1::Decoder>(7));
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(request, Limits())),
              HasSubstr("decoder: unknown value 7"));
  request = ValidDecode();
  request.mutable_latent()->set_dtype(static_cast<v1::DType>(5));
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(request, Limits())),
              HasSubstr("latent.dtype: unknown value 5"));
  request = ValidDecode();
  request.set_fps(-3);
  EXPECT_THAT(ErrorOf(ValidateDecodeRequest(request, Limits())), HasSubstr("fps: must be"));
}

TEST(ValidateDecodeRequest, OutputAboveMaxMessageBytesIsResourceExhausted) {
  RequestLimits limits = Limits();
  limits.max_message_bytes = 1000;
  absl::StatusOr<DecodeInput> input = ValidateDecodeRequest(ValidDecode(), limits);
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(input.status().message()), HasSubstr("max_message_bytes 1000"));
}

TEST(ValidateGenerateRequest, ZeroMeansTheModelDefault) {
  absl::StatusOr<GenerateInput> input = ValidateGenerateRequest(ValidGenerate(), Limits());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->params.frames, 17);
  EXPECT_EQ(input->params.height, 64);
  EXPECT_EQ(input->params.width, 64);
  EXPECT_EQ(input->params.steps, 20);
  EXPECT_FLOAT_EQ(input->params.guidance, 4.0f);
  EXPECT_FALSE(input->seed_given);
  EXPECT_EQ(input->frames_per_chunk, 8);
  EXPECT_EQ(input->fps, 24.0);
  // The model's sampler settings, resolved so the Summary can report them.
  EXPECT_EQ(input->params.guidance_min_t, 0.0);
  EXPECT_EQ(input->params.guidance_max_t, 1.0);
  EXPECT_EQ(input->params.stochasticity, 0.0);
  RequestLimits tuned = Limits();
  tuned.sampler.guidance_min_t = 0.4;
  tuned.sampler.stochasticity = 2.0;
  input = ValidateGenerateRequest(ValidGenerate(), tuned);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->params.guidance_min_t, 0.4);
  EXPECT_EQ(input->params.stochasticity, 2.0);
}

TEST(ValidateGenerateRequest, ExplicitValuesArePassedThrough) {
  v1::GenerateRequest request = ValidGenerate();
  request.set_frames(5);
  request.set_height(32);
  request.set_width(16);
  request.set_steps(3);
  request.set_guidance(1.0f);
  request.set_seed(42);
  request.set_decoder(v1::DECODER_THIN);
  request.set_fps(12);
  request.set_frames_per_chunk(2);
  absl::StatusOr<GenerateInput> input = ValidateGenerateRequest(request, Limits());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->params.frames, 5);
  EXPECT_EQ(input->params.height, 32);
  EXPECT_EQ(input->params.width, 16);
  EXPECT_EQ(input->params.steps, 3);
  EXPECT_FLOAT_EQ(input->params.guidance, 1.0f);
  EXPECT_TRUE(input->seed_given);
  EXPECT_EQ(input->params.seed, 42u);
  EXPECT_EQ(input->decoder, DecoderKind::kThin);
  EXPECT_EQ(input->fps, 12.0);
  EXPECT_EQ(input->frames_per_chunk, 2);
}

TEST(ValidateGenerateRequest, SamplerSettingsOverrideTheModelsAndAreCheckedAsTheyApply) {
  RequestLimits limits = Limits();
  limits.sampler.guidance_min_t = 0.4;
  limits.sampler.stochasticity = 2.0;
  v1::GenerateRequest request = ValidGenerate();
  request.set_guidance_min_t(0.0);
  request.set_stochasticity(0.0);
  absl::StatusOr<GenerateInput> input = ValidateGenerateRequest(request, limits);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->params.guidance_min_t, 0.0);
  EXPECT_EQ(input->params.guidance_max_t, 1.0);  // the model's
  EXPECT_EQ(input->params.stochasticity, 0.0);
  // A max below the model's min is named as the field the request set.
  request = ValidGenerate();
  request.set_guidance_max_t(0.3);
  EXPECT_EQ(ErrorOf(ValidateGenerateRequest(request, limits)),
            "guidance_max_t: guidance_min_t 0.4 and guidance_max_t 0.3 must satisfy 0 <= "
            "guidance_min_t <= guidance_max_t <= 1");
  request = ValidGenerate();
  request.set_guidance_min_t(1.5);
  EXPECT_EQ(ErrorOf(ValidateGenerateRequest(request, limits)),
            "guidance_min_t: must be in [0, 1], got 1.5");
  request = ValidGenerate();
  request.set_stochasticity(std::nan(""));
  EXPECT_THAT(ErrorOf(ValidateGenerateRequest(request, limits)),
              HasSubstr("stochasticity: must be in [0, 4]"));
  request.set_stochasticity(4.5);
  EXPECT_EQ(ErrorOf(ValidateGenerateRequest(request, limits)),
            "stochasticity: must be in [0, 4], got 4.5");
}

TEST(ValidateGenerateRequest, PromptMustBe1To256Bytes) {
  v1::GenerateRequest request = ValidGenerate();
  request.set_prompt("");
  EXPECT_EQ(ErrorOf(ValidateGenerateRequest(request, Limits())),
            "prompt: must be 1..256 bytes, got 0");
  request.set_prompt(std::string(257, 'x'));
  EXPECT_THAT(ErrorOf(ValidateGenerateRequest(request, Limits())), HasSubstr("got 257"));
}

TEST(ValidateGenerateRequest, EveryOutOfRangeFieldIsNamed) {
  struct Case {
    std::function<void(v1::GenerateRequest*)> mutate;
    std::string message;
  };
  const Case cases[] = {
      {[](auto* r) { r->set_frames(16); }, "frames: must be 4k+1 in [1, 65], got 16"},
      {[](auto* r) { r->set_frames(1001); }, "frames: must be 4k+1 in [1, 65], got 1001"},
      {[](auto* r) { r->set_height(24); }, "height: must be a multiple of 16 in [16, 256], got 24"},
      {[](auto* r) { r->set_width(4096); },
       "width: must be a multiple of 16 in [16, 256], got 4096"},
      {[](auto* r) { r->set_steps(101); }, "steps: must be in [1, 100] (0 = default 20), got 101"},
      {[](auto* r) { r->set_guidance(-1); }, "guidance: must be in [0, 20], got -1"},
      {[](auto* r) { r->set_guidance(21); }, "guidance: must be in [0, 20], got 21"},
      {[](auto* r) { r->set_decoder(static_cast<v1::Decoder>(7)); }, "decoder: unknown value 7"},
      {[](auto* r) { r->set_fps(241); }, "fps: must be 0 (= 24) or in (0, 240], got 241"},
      {[](auto* r) { r->set_frames_per_chunk(100); },
       "frames_per_chunk: must be in [0, 65], got 100"},
  };
  for (const Case& c : cases) {
    v1::GenerateRequest request = ValidGenerate();
    c.mutate(&request);
    EXPECT_THAT(ErrorOf(ValidateGenerateRequest(request, Limits())), HasSubstr(c.message));
  }
}

TEST(ValidateGenerateRequest, NonFiniteGuidanceIsRejected) {
  v1::GenerateRequest request = ValidGenerate();
  request.set_guidance(std::nanf(""));
  EXPECT_THAT(ErrorOf(ValidateGenerateRequest(request, Limits())), HasSubstr("guidance"));
}

}  // namespace
}  // namespace vidserve

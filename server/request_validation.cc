#include "server/request_validation.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/half_float.h"

namespace vidserve {
namespace {

absl::Status FieldError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// frames must be 4k+1 because the VAE keeps the first frame alone, then groups of four.
absl::Status CheckFrames(const std::string& field, int64_t frames, int64_t max_frames) {
  if (frames < 1 || frames > max_frames || (frames - 1) % kTemporalCompression != 0) {
    return FieldError(field, absl::StrCat("must be 4k+1 in [1, ", max_frames, "], got ", frames));
  }
  return absl::OkStatus();
}

// 16 = the VAE's 8x spatial compression times the denoiser's 2x2 patch.
absl::Status CheckSide(const std::string& field, int64_t pixels, int64_t max_pixels) {
  if (pixels < 16 || pixels > max_pixels || pixels % 16 != 0) {
    return FieldError(
        field, absl::StrCat("must be a multiple of 16 in [16, ", max_pixels, "], got ", pixels));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> CheckFps(const std::string& field, double fps) {
  if (fps == 0) return kDefaultFps;
  if (!std::isfinite(fps) || fps < 0 || fps > kMaxFps) {
    return FieldError(field, absl::StrCat("must be 0 (= 24) or in (0, ", kMaxFps, "], got ", fps));
  }
  return fps;
}

absl::StatusOr<DecoderKind> CheckDecoder(const std::string& field, int value) {
  switch (value) {
    case v1::DECODER_UNSPECIFIED:
    case v1::DECODER_FULL:
      return DecoderKind::kFull;
    case v1::DECODER_THIN:
      return DecoderKind::kThin;
    default:
      return FieldError(field, absl::StrCat("unknown value ", value,
                                            " (expected DECODER_FULL=1 or DECODER_THIN=2)"));
  }
}

absl::StatusOr<v1::DType> CheckDType(const std::string& field, int value) {
  switch (value) {
    case v1::DTYPE_UNSPECIFIED:
    case v1::DTYPE_FLOAT32:
      return v1::DTYPE_FLOAT32;
    case v1::DTYPE_FLOAT16:
      return v1::DTYPE_FLOAT16;
    default:
      return FieldError(field, absl::StrCat("unknown value ", value,
                                            " (expected DTYPE_FLOAT32=1 or DTYPE_FLOAT16=2)"));
  }
}

}  // namespace

RequestLimits RequestLimits::FromModelConfig(const ModelConfig& config, int64_t max_message_bytes) {
  RequestLimits limits;
  limits.max_frames = config.limits.max_frames;
  limits.max_height = config.limits.max_height;
  limits.max_width = config.limits.max_width;
  limits.max_steps = config.limits.max_steps;
  limits.max_prompt_bytes = config.denoiser.max_prompt_bytes;
  limits.max_guidance = config.limits.max_guidance;
  limits.latent_channels = config.vae.latent_channels;
  limits.default_frames = config.limits.default_frames;
  limits.default_height = config.limits.default_height;
  limits.default_width = config.limits.default_width;
  limits.default_steps = config.sampler.default_steps;
  limits.default_guidance = config.sampler.default_guidance;
  limits.sampler = config.sampler;
  limits.max_message_bytes = max_message_bytes;
  return limits;
}

absl::StatusOr<EncodeInput> ValidateEncodeRequest(const v1::EncodeRequest& request,
                                                  const RequestLimits& limits) {
  if (!request.has_video()) return FieldError("video", "required");
  const v1::Video& video = request.video();
  if (absl::Status s = CheckFrames("video.frames", video.frames(), limits.max_frames); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSide("video.height", video.height(), limits.max_height); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSide("video.width", video.width(), limits.max_width); !s.ok()) {
    return s;
  }
  absl::StatusOr<double> fps = CheckFps("video.fps", video.fps());
  if (!fps.ok()) return fps.status();
  absl::StatusOr<v1::DType> dtype = CheckDType("latent_dtype", request.latent_dtype());
  if (!dtype.ok()) return dtype.status();

  EncodeInput input;
  input.clip.frames = video.frames();
  input.clip.height = video.height();
  input.clip.width = video.width();
  input.clip.fps = *fps;
  const int64_t expected = input.clip.NumBytes();
  if (static_cast<int64_t>(video.rgb().size()) != expected) {
    return FieldError("video.rgb", absl::StrCat("expected ", expected, " bytes (", video.frames(),
                                                "x", video.height(), "x", video.width(),
                                                "x3), got ", video.rgb().size()));
  }
  input.clip.rgb.assign(video.rgb().begin(), video.rgb().end());
  input.latent_dtype = *dtype;
  return input;
}

absl::StatusOr<DecodeInput> ValidateDecodeRequest(const v1::DecodeRequest& request,
                                                  const RequestLimits& limits) {
  if (!request.has_latent()) return FieldError("latent", "required");
  const v1::Latent& latent = request.latent();
  if (latent.shape_size() != 4) {
    return FieldError(
        "latent.shape",
        absl::StrCat("must have 4 dimensions [channels, frames, height, width], got ",
                     latent.shape_size(), " [", absl::StrJoin(latent.shape(), ","), "]"));
  }
  if (latent.shape(0) != limits.latent_channels) {
    return FieldError("latent.shape[0]",
                      absl::StrCat("channels must equal the model's latent_channels ",
                                   limits.latent_channels, ", got ", latent.shape(0)));
  }
  const int64_t max_latent_frames = 1 + (limits.max_frames - 1) / kTemporalCompression;
  const int64_t max_latent_height = limits.max_height / kSpatialCompression;
  const int64_t max_latent_width = limits.max_width / kSpatialCompression;
  const std::pair<int64_t, const char*> dims[] = {{max_latent_frames, "latent.shape[1]"},
                                                  {max_latent_height, "latent.shape[2]"},
                                                  {max_latent_width, "latent.shape[3]"}};
  for (int i = 0; i < 3; ++i) {
    const int64_t value = latent.shape(i + 1);
    if (value < 1 || value > dims[i].first) {
      return FieldError(dims[i].second,
                        absl::StrCat("must be in [1, ", dims[i].first, "], got ", value));
    }
  }
  absl::StatusOr<v1::DType> dtype = CheckDType("latent.dtype", latent.dtype());
  if (!dtype.ok()) return dtype.status();
  absl::StatusOr<DecoderKind> decoder = CheckDecoder("decoder", request.decoder());
  if (!decoder.ok()) return decoder.status();
  absl::StatusOr<double> fps = CheckFps("fps", request.fps());
  if (!fps.ok()) return fps.status();

  DecodeInput input;
  for (int i = 0; i < 4; ++i) input.latent.shape[i] = latent.shape(i);
  const int64_t elements = input.latent.NumElements();
  const bool half = *dtype == v1::DTYPE_FLOAT16;
  const int64_t expected = elements * (half ? 2 : 4);
  if (static_cast<int64_t>(latent.data().size()) != expected) {
    return FieldError("latent.data",
                      absl::StrCat("expected ", expected, " bytes for shape [",
                                   absl::StrJoin(latent.shape(), ","), "] ",
                                   half ? "float16" : "float32", ", got ", latent.data().size()));
  }
  const int64_t decoded_bytes = (1 + (latent.shape(1) - 1) * kTemporalCompression) *
                                latent.shape(2) * kSpatialCompression * latent.shape(3) *
                                kSpatialCompression * 3;
  if (decoded_bytes > limits.max_message_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("latent.shape: the decoded video would be ", decoded_bytes,
                     " bytes, above max_message_bytes ", limits.max_message_bytes));
  }
  input.latent.data.resize(elements);
  if (half) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(latent.data().data());
    for (int64_t i = 0; i < elements; ++i) {
      input.latent.data[i] =
          HalfToFloat(static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
    }
  } else {
    std::memcpy(input.latent.data.data(), latent.data().data(), expected);
  }
  for (int64_t i = 0; i < elements; ++i) {
    if (!std::isfinite(input.latent.data[i])) {
      return FieldError("latent.data", absl::StrCat("element ", i, " is not finite"));
    }
  }
  input.decoder = *decoder;
  input.fps = *fps;
  return input;
}

absl::StatusOr<GenerateInput> ValidateGenerateRequest(const v1::GenerateRequest& request,
                                                      const RequestLimits& limits) {
  GenerateInput input;
  GenerationParams& p = input.params;
  if (request.prompt().empty() ||
      static_cast<int64_t>(request.prompt().size()) > limits.max_prompt_bytes) {
    return FieldError("prompt", absl::StrCat("must be 1..", limits.max_prompt_bytes, " bytes, got ",
                                             request.prompt().size()));
  }
  p.prompt = request.prompt();
  p.frames = request.frames() == 0 ? limits.default_frames : request.frames();
  if (absl::Status s = CheckFrames("frames", p.frames, limits.max_frames); !s.ok()) return s;
  p.height = request.height() == 0 ? limits.default_height : request.height();
  if (absl::Status s = CheckSide("height", p.height, limits.max_height); !s.ok()) return s;
  p.width = request.width() == 0 ? limits.default_width : request.width();
  if (absl::Status s = CheckSide("width", p.width, limits.max_width); !s.ok()) return s;
  p.steps = request.steps() == 0 ? limits.default_steps : request.steps();
  if (p.steps < 1 || p.steps > limits.max_steps) {
    return FieldError("steps", absl::StrCat("must be in [1, ", limits.max_steps, "] (0 = default ",
                                            limits.default_steps, "), got ", p.steps));
  }
  p.guidance = static_cast<float>(limits.default_guidance);
  if (request.has_guidance()) {
    const float g = request.guidance();
    if (!std::isfinite(g) || g < 0 || g > limits.max_guidance) {
      return FieldError("guidance",
                        absl::StrCat("must be in [0, ", limits.max_guidance, "], got ", g));
    }
    p.guidance = g;
  }
  // Sampler settings: the request's where given, else the model's; the interval's bounds
  // are checked against each other as they will apply.
  const double min_t =
      request.has_guidance_min_t() ? request.guidance_min_t() : limits.sampler.guidance_min_t;
  const double max_t =
      request.has_guidance_max_t() ? request.guidance_max_t() : limits.sampler.guidance_max_t;
  if (!(min_t >= 0 && min_t <= 1)) {
    return FieldError("guidance_min_t", absl::StrCat("must be in [0, 1], got ", min_t));
  }
  if (!(max_t >= min_t && max_t <= 1)) {
    return FieldError(request.has_guidance_max_t() ? "guidance_max_t" : "guidance_min_t",
                      absl::StrCat("guidance_min_t ", min_t, " and guidance_max_t ", max_t,
                                   " must satisfy 0 <= guidance_min_t <= guidance_max_t <= 1"));
  }
  const double stochasticity =
      request.has_stochasticity() ? request.stochasticity() : limits.sampler.stochasticity;
  if (!(stochasticity >= 0 && stochasticity <= kMaxStochasticity)) {
    return FieldError("stochasticity",
                      absl::StrCat("must be in [0, ", kMaxStochasticity, "], got ", stochasticity));
  }
  p.guidance_min_t = min_t;
  p.guidance_max_t = max_t;
  p.stochasticity = stochasticity;
  input.seed_given = request.has_seed();
  p.seed = request.seed();
  absl::StatusOr<DecoderKind> decoder = CheckDecoder("decoder", request.decoder());
  if (!decoder.ok()) return decoder.status();
  input.decoder = *decoder;
  absl::StatusOr<double> fps = CheckFps("fps", request.fps());
  if (!fps.ok()) return fps.status();
  input.fps = *fps;
  input.frames_per_chunk =
      request.frames_per_chunk() == 0 ? kDefaultFramesPerChunk : request.frames_per_chunk();
  if (input.frames_per_chunk > limits.max_frames) {
    return FieldError("frames_per_chunk", absl::StrCat("must be in [0, ", limits.max_frames,
                                                       "], got ", input.frames_per_chunk));
  }
  input.return_latent = request.return_latent();
  return input;
}

}  // namespace vidserve

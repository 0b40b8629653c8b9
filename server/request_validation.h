// Request validation: turns the public protos into the model's plain types, checking every
// field against the loaded model's limits first. A bad field fails with INVALID_ARGUMENT and
// a message that names the field, the allowed range and the value received, so a client can
// fix its request from the message alone (e.g. "frames: must be 4k+1 in [1, 65], got 16").
//
// Thread-safety: pure functions of their arguments.
#ifndef VIDSERVE_SERVER_REQUEST_VALIDATION_H_
#define VIDSERVE_SERVER_REQUEST_VALIDATION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "model/model_config.h"
#include "model/video_types.h"
#include "vidserve/v1/video_service.pb.h"

namespace vidserve {

// What validation needs to know about the server: the model's limits and defaults.
struct RequestLimits {
  int64_t max_frames = 65;
  int64_t max_height = 256;
  int64_t max_width = 256;
  int64_t max_steps = 100;
  int64_t max_prompt_bytes = 256;
  double max_guidance = 20.0;
  int64_t latent_channels = 8;
  int64_t default_frames = 17;
  int64_t default_height = 64;
  int64_t default_width = 64;
  int64_t default_steps = 20;
  double default_guidance = 4.0;
  SamplerConfig sampler;  // the model's sampler settings, for requests that name none
  int64_t max_message_bytes = 256LL << 20;

  static RequestLimits FromModelConfig(const ModelConfig& config, int64_t max_message_bytes);
};

inline constexpr double kDefaultFps = 24.0;
inline constexpr double kMaxFps = 240.0;
inline constexpr uint32_t kDefaultFramesPerChunk = 8;
inline constexpr int64_t kTemporalCompression = 4;
inline constexpr int64_t kSpatialCompression = 8;

struct EncodeInput {
  VideoClip clip;
  v1::DType latent_dtype = v1::DTYPE_FLOAT32;
};

struct DecodeInput {
  Latent latent;
  DecoderKind decoder = DecoderKind::kFull;
  double fps = kDefaultFps;
};

struct GenerateInput {
  GenerationParams params;  // seed is only meaningful when seed_given
  bool seed_given = false;
  DecoderKind decoder = DecoderKind::kFull;
  double fps = kDefaultFps;
  int64_t frames_per_chunk = kDefaultFramesPerChunk;
  bool return_latent = false;
};

absl::StatusOr<EncodeInput> ValidateEncodeRequest(const v1::EncodeRequest& request,
                                                  const RequestLimits& limits);
absl::StatusOr<DecodeInput> ValidateDecodeRequest(const v1::DecodeRequest& request,
                                                  const RequestLimits& limits);
absl::StatusOr<GenerateInput> ValidateGenerateRequest(const v1::GenerateRequest& request,
                                                      const RequestLimits& limits);

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_REQUEST_VALIDATION_H_

// Plain data types exchanged with the VideoModel facade. No torch here: the server and
// tools include this header in many translation units.
#ifndef VIDSERVE_MODEL_VIDEO_TYPES_H_
#define VIDSERVE_MODEL_VIDEO_TYPES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vidserve {

// uint8 RGB video, interleaved, frame-major: index ((t * height + y) * width + x) * 3 + c.
struct VideoClip {
  int64_t frames = 0;
  int64_t height = 0;
  int64_t width = 0;
  double fps = 24.0;
  std::vector<uint8_t> rgb;  // frames * height * width * 3 bytes

  int64_t NumBytes() const { return frames * height * width * 3; }
};

// One video's latent, float32, C-contiguous [channels, frames, height, width].
struct Latent {
  std::array<int64_t, 4> shape = {0, 0, 0, 0};
  std::vector<float> data;

  int64_t NumElements() const { return shape[0] * shape[1] * shape[2] * shape[3]; }
  // The clip it decodes to, [frames, height, width]: the VAE compresses 4x in time (the
  // first frame alone) and 8x in space.
  std::array<int64_t, 3> DecodedShape() const {
    return {1 + 4 * (shape[1] - 1), 8 * shape[2], 8 * shape[3]};
  }
};

enum class DecoderKind { kFull, kThin };

const char* DecoderKindName(DecoderKind kind);  // "full" | "thin"

// The arithmetic Decode runs the VAE decoders in. Half precision is for CUDA devices,
// where the decoders' narrow convolutions are memory-bound; the CPU always decodes in
// float32. Latents arrive and bytes leave the same way in every precision.
enum class DecodePrecision { kFloat32, kFloat16, kBFloat16 };

const char* DecodePrecisionName(DecodePrecision precision);  // "float32" | "float16" | "bfloat16"
// The inverse of DecodePrecisionName; nullopt for any other name.
std::optional<DecodePrecision> ParseDecodePrecision(const std::string& name);

// A fully resolved generation request (defaults applied, validated by the caller against
// ModelLimits).
struct GenerationParams {
  std::string prompt;
  int64_t frames = 17;
  int64_t height = 64;
  int64_t width = 64;
  int64_t steps = 20;
  float guidance = 4.0f;
  uint64_t seed = 0;
  // This generation's sampler settings (ModelConfig::sampler has their meaning and
  // ranges); unset = the model's.
  std::optional<double> guidance_min_t;
  std::optional<double> guidance_max_t;
  std::optional<double> stochasticity;
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_VIDEO_TYPES_H_

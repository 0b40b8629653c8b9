// Architecture and serving limits of a model, loaded from a preset YAML
// (models/presets/*.yaml) or from a checkpoint's embedded metadata. No torch here.
#ifndef VIDSERVE_MODEL_MODEL_CONFIG_H_
#define VIDSERVE_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vidserve {

struct VaeConfig {
  int64_t in_channels = 3;
  int64_t latent_channels = 8;
  // Encoder widths from pixel level down: stage i works at 1/2^i spatial resolution.
  // Three stages of stride 2 give the 8x spatial compression; the first two also halve
  // time causally (4x temporal).
  std::vector<int64_t> channels = {32, 64, 128};
  int64_t blocks_per_stage = 1;
  // The thin decoder multiplies the widths of its pixel-near stages by this factor.
  double thin_width_multiplier = 0.25;
  // Number of pixel-near decoder stages that the thin decoder narrows.
  int64_t thin_stages = 2;
  // 1, 2 or 4: the thin decoder's last log2(p) stages stay at 1/p resolution and its
  // output convolution emits p x p pixels per position (VaeDecoderOptions::output_patch).
  int64_t thin_output_patch = 1;
  // Residual blocks the thin decoder keeps at the latents' resolution, of the mid block and
  // the deepest stage's blocks (VaeDecoderOptions::latent_res_blocks); -1 = all of them.
  int64_t thin_latent_res_blocks = -1;
  // How many of the thin decoder's deepest stages upsample straight to the next stage's
  // width (VaeDecoderOptions::upsample_to_next_width); 0 = none.
  int64_t thin_upsample_to_next_width = 0;
  // Per-channel statistics of the encoder's latents (posterior means) over training data.
  // The denoiser works on (z - mean) / std, i.e. roughly unit-variance latents, which the
  // rectified-flow noise schedule assumes; generated latents are mapped back before
  // decoding. Written by vidserve-train's denoiser stage. Empty = mean 0 / std 1.
  std::vector<double> latent_mean;
  std::vector<double> latent_std;
};

struct DenoiserConfig {
  int64_t hidden_dim = 128;
  int64_t num_layers = 4;
  int64_t num_heads = 4;
  int64_t mlp_ratio = 4;
  int64_t patch_size = 2;  // spatial patch (1 x p x p over latent frames)
  // Token mixer of each layer: "softmax" | "loglinear" | "mesa". One entry applies to
  // every layer; otherwise exactly num_layers entries (hybrids).
  std::vector<std::string> mixers = {"softmax"};
  int64_t loglinear_chunk_size = 64;
  int64_t mesa_cg_steps = 16;
  // QK-norm in the softmax attention layers (TokenMixerOptions::qk_norm). Off by default
  // so checkpoints trained without it load as they were.
  bool qk_norm = false;
  // Byte-level text encoder.
  int64_t text_dim = 128;
  int64_t text_layers = 2;
  int64_t text_heads = 4;
  int64_t max_prompt_bytes = 256;
};

// Largest SamplerConfig::stochasticity (beyond 1 the share of fresh noise saturates sooner).
inline constexpr double kMaxStochasticity = 4.0;

struct SamplerConfig {
  int64_t default_steps = 20;
  double default_guidance = 4.0;
  double timestep_shift = 1.0;  // SD3-style schedule shift; 1 = uniform in t
  // Guidance interval: classifier-free guidance applies only to steps that start at a t
  // in [guidance_min_t, guidance_max_t]; the other steps take the conditional velocity
  // alone (one forward row instead of two). Guiding the last, low-noise steps distorts
  // small shapes (BENCHMARKS.md section 5); the defaults guide every step.
  double guidance_min_t = 0.0;
  double guidance_max_t = 1.0;
  // Fresh noise per step, in [0, kMaxStochasticity]: 0 is the deterministic Euler (ODE)
  // sampler. For e > 0 each step re-noises the predicted clean latent with a share
  // min(1, e sqrt(1 - t'/t)) of new Gaussian noise (t -> t'), which lets later steps
  // correct earlier mistakes; the noise comes from the request's seed, so results stay
  // reproducible.
  double stochasticity = 0.0;
};

// Sampler settings that replace a loaded model's (VideoModel::Options, the server's
// model.sampler keys, vidserve-bench quality's flags); each unset field keeps the model's.
struct SamplerOverrides {
  std::optional<double> timestep_shift;
  std::optional<double> guidance_min_t;
  std::optional<double> guidance_max_t;
  std::optional<double> stochasticity;
};

struct ModelLimits {
  int64_t max_frames = 65;
  int64_t max_height = 256;
  int64_t max_width = 256;
  int64_t max_steps = 100;
  double max_guidance = 20.0;
  int64_t default_frames = 17;
  int64_t default_height = 64;
  int64_t default_width = 64;
};

struct ModelConfig {
  std::string name = "vidserve-tiny";
  std::string preset = "tiny";
  VaeConfig vae;
  DenoiserConfig denoiser;
  SamplerConfig sampler;
  ModelLimits limits;

  // Mixer of layer i after expanding a single entry to all layers.
  std::string MixerOfLayer(int64_t layer) const;
};

// Parses a preset/config YAML document. Errors name the offending key and value.
absl::StatusOr<ModelConfig> ParseModelConfigYaml(const std::string& yaml_text);
absl::StatusOr<ModelConfig> LoadModelConfigFile(const std::string& path);
// Finds "<name>.yaml" in the preset directories (VIDSERVE_PRESET_DIR env, the build's
// configured source dir, ./models/presets).
absl::StatusOr<ModelConfig> LoadPreset(const std::string& name);
std::vector<std::string> KnownPresets();

// JSON round trip, used to embed the config in checkpoints.
std::string ModelConfigToJson(const ModelConfig& config);
absl::StatusOr<ModelConfig> ModelConfigFromJson(const std::string& json_text);

// Checks internal consistency (positive sizes, heads divide dims, known mixers...).
absl::Status ValidateModelConfig(const ModelConfig& config);

// The sampler section's own checks (ValidateModelConfig runs them too); errors name the
// key, e.g. "sampler.stochasticity: must be in [0, 4], got 5".
absl::Status ValidateSamplerConfig(const SamplerConfig& sampler, const ModelLimits& limits);

// Sets the fields of `sampler` that `overrides` names, then validates the result; on an
// error (naming the sampler key) `sampler` is unchanged.
absl::Status ApplySamplerOverrides(const SamplerOverrides& overrides, const ModelLimits& limits,
                                   SamplerConfig& sampler);

// The overrides' ranges as far as they hold for any model (applied to the default
// settings): for configs and flags checked before a model is loaded.
absl::Status CheckSamplerOverrides(const SamplerOverrides& overrides);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MODEL_CONFIG_H_

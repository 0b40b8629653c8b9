#include "model/video_network.h"

#include <filesystem>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/status_macros.h"

namespace vidserve {
namespace {

constexpr char kConfigKey[] = "vidserve_config";
constexpr char kTrainedKey[] = "trained";
constexpr char kMetricPrefix[] = "metric.";

std::mutex& GlobalRngMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

std::vector<std::string> ExpandMixers(const ModelConfig& config) {
  std::vector<std::string> mixers;
  for (int64_t i = 0; i < config.denoiser.num_layers; ++i) mixers.push_back(config.MixerOfLayer(i));
  return mixers;
}

}  // namespace

VideoNetworkImpl::VideoNetworkImpl(VaeEncoder encoder_, VaeDecoder decoder_,
                                   VaeDecoder thin_decoder_, TextEncoder text_encoder_,
                                   Denoiser denoiser_)
    : encoder(register_module("encoder", std::move(encoder_))),
      decoder(register_module("decoder", std::move(decoder_))),
      thin_decoder(register_module("thin_decoder", std::move(thin_decoder_))),
      text_encoder(register_module("text_encoder", std::move(text_encoder_))),
      denoiser(register_module("denoiser", std::move(denoiser_))) {}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

VaeEncoderOptions EncoderOptionsFromConfig(const ModelConfig& config) {
  return VaeEncoderOptions()
      .in_channels(config.vae.in_channels)
      .latent_channels(config.vae.latent_channels)
      .channels(config.vae.channels)
      .blocks_per_stage(config.vae.blocks_per_stage);
}

VaeDecoderOptions DecoderOptionsFromConfig(const ModelConfig& config, bool thin) {
  return VaeDecoderOptions()
      .out_channels(config.vae.in_channels)
      .latent_channels(config.vae.latent_channels)
      .channels(config.vae.channels)
      .blocks_per_stage(config.vae.blocks_per_stage)
      .width_multiplier(thin ? config.vae.thin_width_multiplier : 1.0)
      .narrowed_stages(thin ? config.vae.thin_stages : 0)
      .output_patch(thin ? config.vae.thin_output_patch : 1)
      .latent_res_blocks(thin ? config.vae.thin_latent_res_blocks : -1)
      .upsample_to_next_width(thin ? config.vae.thin_upsample_to_next_width : 0);
}

TextEncoderOptions TextEncoderOptionsFromConfig(const ModelConfig& config) {
  return TextEncoderOptions()
      .dim(config.denoiser.text_dim)
      .num_layers(config.denoiser.text_layers)
      .num_heads(config.denoiser.text_heads)
      .max_prompt_bytes(config.denoiser.max_prompt_bytes);
}

DenoiserOptions DenoiserOptionsFromConfig(const ModelConfig& config, bool adaln_zero_init) {
  DenoiserOptions o;
  o.latent_channels = config.vae.latent_channels;
  o.hidden_dim = config.denoiser.hidden_dim;
  o.num_layers = config.denoiser.num_layers;
  o.num_heads = config.denoiser.num_heads;
  o.mlp_ratio = config.denoiser.mlp_ratio;
  o.patch_size = config.denoiser.patch_size;
  o.mixers = ExpandMixers(config);
  o.loglinear_chunk_size = config.denoiser.loglinear_chunk_size;
  o.mesa_cg_steps = config.denoiser.mesa_cg_steps;
  o.qk_norm = config.denoiser.qk_norm;
  o.text_dim = config.denoiser.text_dim;
  o.adaln_zero_init = adaln_zero_init;
  return o;
}

absl::StatusOr<VideoNetwork> BuildVideoNetwork(const ModelConfig& config, uint64_t init_seed,
                                               bool adaln_zero_init) {
  VIDSERVE_RETURN_IF_ERROR(ValidateModelConfig(config));
  std::lock_guard<std::mutex> lock(GlobalRngMutex());
  torch::manual_seed(init_seed);
  // Built in a fixed order so the same seed always gives the same weights.
  VaeEncoder encoder(EncoderOptionsFromConfig(config));
  VaeDecoder decoder(DecoderOptionsFromConfig(config, /*thin=*/false));
  VaeDecoder thin_decoder(DecoderOptionsFromConfig(config, /*thin=*/true));
  TextEncoder text_encoder(TextEncoderOptionsFromConfig(config));
  VIDSERVE_ASSIGN_OR_RETURN(Denoiser denoiser,
                            BuildDenoiser(DenoiserOptionsFromConfig(config, adaln_zero_init)));
  return VideoNetwork(std::move(encoder), std::move(decoder), std::move(thin_decoder),
                      std::move(text_encoder), std::move(denoiser));
}

absl::Status SaveVideoNetwork(const std::string& path, VideoNetwork& network,
                              const ModelConfig& config, const CheckpointInfo& info,
                              CheckpointDtype dtype) {
  std::map<std::string, std::string> metadata;
  metadata[kConfigKey] = ModelConfigToJson(config);
  metadata[kTrainedKey] = info.trained ? "true" : "false";
  for (const auto& [name, value] : info.metrics) {
    // %.17g round-trips a double exactly; StrCat would keep only 6 digits.
    metadata[absl::StrCat(kMetricPrefix, name)] = absl::StrFormat("%.17g", value);
  }
  return WriteSafetensors(path, ModuleStateDict(*network), metadata, dtype);
}

absl::StatusOr<LoadedVideoNetwork> LoadVideoNetwork(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    file = (std::filesystem::path(path) / "model.safetensors").string();
  }
  VIDSERVE_ASSIGN_OR_RETURN(CheckpointContents contents, ReadSafetensors(file));
  auto config_it = contents.metadata.find(kConfigKey);
  if (config_it == contents.metadata.end()) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", file, ": __metadata__.",
                                                   kConfigKey,
                                                   " missing; not a vidserve checkpoint?"));
  }
  auto config = ModelConfigFromJson(config_it->second);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", file, ": __metadata__.",
                                                   kConfigKey, ": ", config.status().message()));
  }
  LoadedVideoNetwork loaded;
  loaded.config = *config;
  loaded.path = file;
  loaded.info.trained =
      contents.metadata.count(kTrainedKey) > 0 && contents.metadata[kTrainedKey] == "true";
  for (const auto& [key, value] : contents.metadata) {
    if (key.rfind(kMetricPrefix, 0) != 0) continue;
    double number = 0;
    if (absl::SimpleAtod(value, &number))
      loaded.info.metrics[key.substr(sizeof(kMetricPrefix) - 1)] = number;
  }
  VIDSERVE_ASSIGN_OR_RETURN(loaded.network, BuildVideoNetwork(loaded.config, /*init_seed=*/0,
                                                              /*adaln_zero_init=*/true));
  VIDSERVE_RETURN_IF_ERROR(LoadModuleState(*loaded.network, contents.tensors, file));
  return loaded;
}

}  // namespace vidserve

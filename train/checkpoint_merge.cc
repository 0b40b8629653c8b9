#include "train/checkpoint_merge.h"

#include <torch/torch.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "model/status_macros.h"
#include "model/video_network.h"

namespace vidserve::train {
namespace {

absl::Status CheckSameWeights(const torch::nn::Module& a, const torch::nn::Module& b,
                              const std::string& what) {
  auto state_a = ModuleStateDict(a);
  auto state_b = ModuleStateDict(b);
  if (state_a.size() != state_b.size()) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": different architectures"));
  }
  for (size_t i = 0; i < state_a.size(); ++i) {
    if (state_a[i].second.sizes() != state_b[i].second.sizes() ||
        !torch::equal(state_a[i].second, state_b[i].second)) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": tensor '", state_a[i].first,
                       "' differs; the stages were not trained from the same vae export"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MergeCheckpoints(const MergeOptions& options) {
  VIDSERVE_ASSIGN_OR_RETURN(LoadedVideoNetwork vae, LoadVideoNetwork(options.vae_checkpoint));
  VIDSERVE_ASSIGN_OR_RETURN(LoadedVideoNetwork thin, LoadVideoNetwork(options.thin_checkpoint));
  VIDSERVE_ASSIGN_OR_RETURN(LoadedVideoNetwork denoiser,
                            LoadVideoNetwork(options.denoiser_checkpoint));
  VIDSERVE_RETURN_IF_ERROR(CheckSameWeights(*vae.network->encoder, *thin.network->encoder,
                                            "thin checkpoint's encoder"));
  VIDSERVE_RETURN_IF_ERROR(CheckSameWeights(*vae.network->encoder, *denoiser.network->encoder,
                                            "denoiser checkpoint's encoder"));
  // The denoiser's config (it carries the latent statistics) with the thin checkpoint's
  // thin-decoder shape, which a thin run may have changed (--thin_stages and the like).
  ModelConfig config = denoiser.config;
  config.vae.thin_stages = thin.config.vae.thin_stages;
  config.vae.thin_width_multiplier = thin.config.vae.thin_width_multiplier;
  config.vae.thin_output_patch = thin.config.vae.thin_output_patch;
  config.vae.thin_latent_res_blocks = thin.config.vae.thin_latent_res_blocks;
  config.vae.thin_upsample_to_next_width = thin.config.vae.thin_upsample_to_next_width;
  VIDSERVE_ASSIGN_OR_RETURN(VideoNetwork merged,
                            BuildVideoNetwork(config, /*init_seed=*/0, /*adaln_zero_init=*/false));
  VIDSERVE_RETURN_IF_ERROR(CopyModuleState(*vae.network->encoder, *merged->encoder, vae.path));
  VIDSERVE_RETURN_IF_ERROR(CopyModuleState(*vae.network->decoder, *merged->decoder, vae.path));
  VIDSERVE_RETURN_IF_ERROR(
      CopyModuleState(*thin.network->thin_decoder, *merged->thin_decoder, thin.path));
  VIDSERVE_RETURN_IF_ERROR(
      CopyModuleState(*denoiser.network->text_encoder, *merged->text_encoder, denoiser.path));
  VIDSERVE_RETURN_IF_ERROR(
      CopyModuleState(*denoiser.network->denoiser, *merged->denoiser, denoiser.path));
  if (!options.name.empty()) config.name = options.name;
  if (options.sampler) {
    config.sampler = *options.sampler;
    VIDSERVE_RETURN_IF_ERROR(ValidateModelConfig(config));
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(options.output).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  CheckpointInfo info;
  info.trained = options.trained;
  info.metrics = options.metrics;
  return SaveVideoNetwork(options.output, merged, config, info, options.dtype);
}

}  // namespace vidserve::train

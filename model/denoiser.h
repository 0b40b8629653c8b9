// The latent denoiser: a DiT over 1 x p x p latent patches that predicts the rectified-flow
// velocity (eps - x0). Conditioning: a sinusoidal embedding of the timestep t in [0, 1]
// plus the pooled text vector drive adaLN-zero modulation (shift/scale/gate) of every
// block; text tokens enter through masked cross-attention. Each block's token mixer comes
// from MakeTokenMixer (softmax, loglinear or mesa; bidirectional). Positions are a fixed
// 3D sin-cos embedding over (t, h, w), so any latent size up to the limits works.
//
// Deterministic: no dropout, no randomness in forward().
// Thread-safety: as torch::nn::Module (concurrent forward() only without mutation).
#ifndef VIDSERVE_MODEL_DENOISER_H_
#define VIDSERVE_MODEL_DENOISER_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/masked_attention.h"
#include "model/mixers/token_mixer.h"
#include "model/text_encoder.h"

namespace vidserve {

struct DenoiserOptions {
  int64_t latent_channels = 8;
  int64_t hidden_dim = 128;
  int64_t num_layers = 4;
  int64_t num_heads = 4;
  int64_t mlp_ratio = 4;
  int64_t patch_size = 2;
  // Mixer kind of each layer (exactly num_layers entries).
  std::vector<std::string> mixers = {"softmax", "softmax", "softmax", "softmax"};
  int64_t loglinear_chunk_size = 64;
  int64_t mesa_cg_steps = 16;
  bool qk_norm = false;  // TokenMixerOptions::qk_norm, for the softmax layers
  int64_t text_dim = 128;
  // true: adaLN-zero, i.e. every gate and the output projection start at zero so each
  // block starts as the identity and the untrained model predicts zero velocity (the
  // training init). false: small random (std 0.02) gates, so a randomly initialised model
  // still responds to prompt, timestep and noise (used when serving without a checkpoint).
  bool adaln_zero_init = true;
};

// One DiT block: mixer, cross-attention, MLP, each modulated by the conditioning vector.
class DiTBlockImpl : public torch::nn::Module {
 public:
  DiTBlockImpl(const DenoiserOptions& options, std::shared_ptr<TokenMixer> mixer);
  // x [B, N, D], cond [B, D], text tokens [B, L, text_dim] with mask [B, L].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond,
                        const TextEmbedding& text);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  std::shared_ptr<TokenMixer> mixer;
  MaskedAttention cross_attention{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Linear modulation{nullptr};  // cond -> 9 x D: (shift, scale, gate) x 3
};
TORCH_MODULE(DiTBlock);

class DenoiserImpl : public torch::nn::Module {
 public:
  // Use BuildDenoiser(), which validates the options and builds the mixers.
  DenoiserImpl(const DenoiserOptions& options, std::vector<std::shared_ptr<TokenMixer>> mixers);
  // latents [B, C, T, H, W] (H, W multiples of patch_size), timesteps [B] in [0, 1]
  // (1 = pure noise) -> velocity [B, C, T, H, W].
  torch::Tensor forward(const torch::Tensor& latents, const torch::Tensor& timesteps,
                        const TextEmbedding& text);

  const DenoiserOptions& options() const { return options_; }

 private:
  DenoiserOptions options_;
  torch::nn::Linear patch_embed_{nullptr};
  torch::nn::Linear time_fc1_{nullptr}, time_fc2_{nullptr};
  torch::nn::Linear text_proj_{nullptr};
  std::vector<DiTBlock> blocks_;
  torch::nn::LayerNorm norm_out_{nullptr};
  torch::nn::Linear final_modulation_{nullptr};  // cond -> (shift, scale)
  torch::nn::Linear final_proj_{nullptr};
};
TORCH_MODULE(Denoiser);

absl::StatusOr<Denoiser> BuildDenoiser(const DenoiserOptions& options);

// Sinusoidal embedding of t in [0, 1] (scaled by 1000 like DDPM step indices): [B] -> [B, dim].
torch::Tensor TimestepEmbedding(const torch::Tensor& t, int64_t dim);
// Fixed 3D sin-cos position embedding of a t x h x w token grid: [t*h*w, dim].
torch::Tensor SinCosPositionEmbedding3d(int64_t t, int64_t h, int64_t w, int64_t dim,
                                        const torch::TensorOptions& options);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_DENOISER_H_

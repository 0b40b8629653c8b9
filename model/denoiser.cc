#include "model/denoiser.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace vidserve {
namespace {

constexpr int64_t kTimestepFrequencyDim = 256;

torch::nn::LayerNorm PlainLayerNorm(int64_t dim) {
  // Affine-free: adaLN supplies the per-sample scale and shift.
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({dim}).elementwise_affine(false).eps(1e-6));
}

void InitModulation(torch::nn::Linear& linear, bool zero) {
  torch::NoGradGuard no_grad;
  if (zero) {
    linear->weight.zero_();
  } else {
    linear->weight.normal_(0.0, 0.02);
  }
  linear->bias.zero_();
}

torch::Tensor Modulate(const torch::Tensor& x, const torch::Tensor& shift,
                       const torch::Tensor& scale) {
  return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}

torch::Tensor AxisEmbedding(const torch::Tensor& positions, int64_t dim) {
  const int64_t half = dim / 2;
  auto freqs = torch::exp(-std::log(10000.0) * torch::arange(half, positions.options()) /
                          static_cast<double>(half));
  auto args = positions.unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::sin(args), torch::cos(args)}, 1);
}

}  // namespace

torch::Tensor TimestepEmbedding(const torch::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  auto freqs =
      torch::exp(-std::log(10000.0) * torch::arange(half, t.options()) / static_cast<double>(half));
  auto args = (t * 1000.0).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

torch::Tensor SinCosPositionEmbedding3d(int64_t t, int64_t h, int64_t w, int64_t dim,
                                        const torch::TensorOptions& options) {
  const int64_t axis_dim = (dim / 6) * 2;  // even, and three of them fit in dim
  auto grid = torch::meshgrid(
      {torch::arange(t, options), torch::arange(h, options), torch::arange(w, options)}, "ij");
  std::vector<torch::Tensor> parts;
  for (const auto& g : grid) parts.push_back(AxisEmbedding(g.reshape({-1}), axis_dim));
  if (3 * axis_dim < dim) parts.push_back(torch::zeros({t * h * w, dim - 3 * axis_dim}, options));
  return torch::cat(parts, 1);
}

DiTBlockImpl::DiTBlockImpl(const DenoiserOptions& options, std::shared_ptr<TokenMixer> mixer_) {
  const int64_t d = options.hidden_dim;
  norm1 = register_module("norm1", PlainLayerNorm(d));
  mixer = register_module("mixer", std::move(mixer_));
  norm2 = register_module("norm2", PlainLayerNorm(d));
  cross_attention = register_module(
      "cross_attention",
      MaskedAttention(MaskedAttentionOptions(d, options.num_heads).context_dim(options.text_dim)));
  norm3 = register_module("norm3", PlainLayerNorm(d));
  fc1 = register_module("fc1", torch::nn::Linear(d, options.mlp_ratio * d));
  fc2 = register_module("fc2", torch::nn::Linear(options.mlp_ratio * d, d));
  modulation = register_module("modulation", torch::nn::Linear(d, 9 * d));
  InitModulation(modulation, options.adaln_zero_init);
}

torch::Tensor DiTBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cond,
                                    const TextEmbedding& text) {
  auto m = modulation->forward(torch::silu(cond)).chunk(9, 1);
  auto h = x + m[2].unsqueeze(1) * mixer->forward(Modulate(norm1->forward(x), m[0], m[1]));
  h = h + m[5].unsqueeze(1) * cross_attention->forward(Modulate(norm2->forward(h), m[3], m[4]),
                                                       text.tokens, text.mask);
  auto mlp_in = Modulate(norm3->forward(h), m[6], m[7]);
  return h + m[8].unsqueeze(1) * fc2->forward(torch::gelu(fc1->forward(mlp_in)));
}

DenoiserImpl::DenoiserImpl(const DenoiserOptions& options,
                           std::vector<std::shared_ptr<TokenMixer>> mixers)
    : options_(options) {
  const int64_t d = options.hidden_dim, p = options.patch_size;
  const int64_t patch_dim = options.latent_channels * p * p;
  patch_embed_ = register_module("patch_embed", torch::nn::Linear(patch_dim, d));
  time_fc1_ = register_module("time_fc1", torch::nn::Linear(kTimestepFrequencyDim, d));
  time_fc2_ = register_module("time_fc2", torch::nn::Linear(d, d));
  text_proj_ = register_module("text_proj", torch::nn::Linear(options.text_dim, d));
  for (size_t i = 0; i < mixers.size(); ++i) {
    blocks_.push_back(
        register_module("block" + std::to_string(i), DiTBlock(options, std::move(mixers[i]))));
  }
  norm_out_ = register_module("norm_out", PlainLayerNorm(d));
  final_modulation_ = register_module("final_modulation", torch::nn::Linear(d, 2 * d));
  final_proj_ = register_module("final_proj", torch::nn::Linear(d, patch_dim));
  InitModulation(final_modulation_, options.adaln_zero_init);
  InitModulation(final_proj_, options.adaln_zero_init);
}

torch::Tensor DenoiserImpl::forward(const torch::Tensor& latents, const torch::Tensor& timesteps,
                                    const TextEmbedding& text) {
  const int64_t b = latents.size(0), c = latents.size(1), t = latents.size(2);
  const int64_t p = options_.patch_size;
  const int64_t hp = latents.size(3) / p, wp = latents.size(4) / p;
  // [B, C, T, Hp, p, Wp, p] -> [B, T*Hp*Wp, C*p*p]
  auto patches = latents.reshape({b, c, t, hp, p, wp, p})
                     .permute({0, 2, 3, 5, 1, 4, 6})
                     .reshape({b, t * hp * wp, c * p * p});
  auto x =
      patch_embed_->forward(patches) +
      SinCosPositionEmbedding3d(t, hp, wp, options_.hidden_dim, latents.options()).unsqueeze(0);
  auto temb = TimestepEmbedding(timesteps.to(latents.scalar_type()), kTimestepFrequencyDim);
  auto cond =
      time_fc2_->forward(torch::silu(time_fc1_->forward(temb))) + text_proj_->forward(text.pooled);
  for (auto& block : blocks_) x = block->forward(x, cond, text);
  auto fm = final_modulation_->forward(torch::silu(cond)).chunk(2, 1);
  auto out = final_proj_->forward(Modulate(norm_out_->forward(x), fm[0], fm[1]));
  // [B, T*Hp*Wp, C*p*p] -> [B, C, T, Hp*p, Wp*p]
  return out.reshape({b, t, hp, wp, c, p, p})
      .permute({0, 4, 1, 2, 5, 3, 6})
      .reshape({b, c, t, hp * p, wp * p});
}

absl::StatusOr<Denoiser> BuildDenoiser(const DenoiserOptions& options) {
  if (static_cast<int64_t>(options.mixers.size()) != options.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("denoiser.mixers: expected ", options.num_layers,
                                                   " entries (one per layer), got ",
                                                   options.mixers.size()));
  }
  std::vector<std::shared_ptr<TokenMixer>> mixers;
  for (int64_t i = 0; i < options.num_layers; ++i) {
    TokenMixerOptions mixer_options;
    mixer_options.kind = options.mixers[i];
    mixer_options.dim = options.hidden_dim;
    mixer_options.num_heads = options.num_heads;
    mixer_options.bidirectional = true;
    mixer_options.loglinear_chunk_size = options.loglinear_chunk_size;
    mixer_options.mesa_cg_steps = options.mesa_cg_steps;
    mixer_options.qk_norm = options.qk_norm;
    auto mixer = MakeTokenMixer(mixer_options);
    if (!mixer.ok()) {
      return absl::Status(mixer.status().code(),
                          absl::StrCat("denoiser layer ", i, ": ", mixer.status().message()));
    }
    mixers.push_back(*std::move(mixer));
  }
  return Denoiser(options, std::move(mixers));
}

}  // namespace vidserve

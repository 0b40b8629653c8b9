// Stage 1: the VAE (encoder + full decoder). Reconstruction through a sampled latent with
// L1 + (1 - SSIM) + gradient L1, and a small KL toward N(0, I) that keeps the latent space
// smooth without costing reconstruction (the weights are in LossWeights). With
// freeze_encoder only the decoder learns (the KL term, reported, then has no gradient).
#include <torch/torch.h>

#include "train/bf16_autocast.h"
#include "train/pixel_stage.h"
#include "train/video_losses.h"

namespace vidserve::train {
namespace {

class VaeStage : public PixelStage {
 public:
  VaeStage(const StageContext& context, std::unique_ptr<ClipBatcher> batcher)
      : PixelStage(context, std::move(batcher)) {
    if (!ctx_.resumed && ctx_.options->init_checkpoint.empty()) NarrowInitialPosterior();
  }

  NamedTensors TrainableParameters() override {
    NamedTensors params;
    if (!frozen_encoder()) params = PrefixedParameters("encoder", *ctx_.network->encoder);
    for (auto& p : PrefixedParameters("decoder", *ctx_.network->decoder)) params.push_back(p);
    return params;
  }
  std::vector<std::shared_ptr<torch::nn::Module>> TrainableModules() override {
    if (frozen_encoder()) return {ctx_.network->decoder.ptr()};
    return {ctx_.network->encoder.ptr(), ctx_.network->decoder.ptr()};
  }

  absl::StatusOr<StepLoss> Loss(int64_t step) override {
    auto batch = batcher_->Next();
    if (!batch.ok()) return batch.status();
    const torch::Tensor pixels = batch->pixels.to(ctx_.device, /*non_blocking=*/true);
    const LossWeights& w = ctx_.options->loss;
    torch::Tensor recon, mean, logvar;
    {
      Bf16Autocast autocast(ctx_.options->bf16 && ctx_.device.is_cuda());
      std::vector<torch::Tensor> moments;
      {
        torch::AutoGradMode grad(!frozen_encoder());
        moments = ctx_.network->encoder->forward(pixels).to(torch::kFloat32).chunk(2, 1);
      }
      mean = moments[0];
      logvar = moments[1].clamp(-30.0, 20.0);
      const torch::Tensor z = mean + torch::exp(0.5 * logvar) * torch::randn_like(mean);
      recon = ctx_.network->decoder->forward(z).to(torch::kFloat32);
    }
    const torch::Tensor l1 = (recon - pixels).abs().mean();
    const torch::Tensor ssim = Ssim(recon, pixels);
    const torch::Tensor gradient = GradientL1(recon, pixels);
    const torch::Tensor kl = GaussianKl(mean, logvar);
    StepLoss loss;
    loss.total = w.l1 * l1 + w.ssim * (1 - ssim) + w.gradient * gradient + w.kl * kl;
    loss.terms = {{"l1", l1.item<double>()},
                  {"ssim", ssim.item<double>()},
                  {"gradient", gradient.item<double>()},
                  {"kl", kl.item<double>()},
                  {"psnr_db", PsnrDb(recon, pixels)}};
    loss.clips = pixels.size(0);
    return loss;
  }

  bool frozen_encoder() const { return ctx_.options->freeze_encoder; }

  // A fresh encoder's log-variance outputs sit near 0, i.e. posterior std ~1 against means
  // of ~0.1: the decoder would see mostly sampling noise and learn very slowly (measured:
  // PSNR stuck near 10 dB for hundreds of steps). Starting the log-variance at -8 (std
  // 0.02) makes early training an autoencoder; the KL term still shapes the posterior.
  void NarrowInitialPosterior() {
    torch::NoGradGuard no_grad;
    const int64_t latent = ctx_.config->vae.latent_channels;
    for (auto& item : ctx_.network->encoder->named_parameters()) {
      if (item.key() == "conv_out.conv.bias") item.value().narrow(0, latent, latent).fill_(-8.0);
    }
  }

  std::vector<std::pair<std::string, double>> Evaluate() override {
    torch::NoGradGuard no_grad;
    const HeldOut held_out = EncodeHeldOut(32);
    const torch::Tensor recon = ctx_.network->decoder->forward(held_out.latents);
    return {{"heldout_psnr_db", PsnrDb(recon, held_out.pixels)},
            {"heldout_ssim", Ssim(recon.clamp(-1, 1), held_out.pixels).item<double>()}};
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrainingStage>> MakeVaeStage(const StageContext& context) {
  return PixelStage::Make<VaeStage>(context);
}

}  // namespace vidserve::train

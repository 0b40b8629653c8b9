// Stage 2: the thin decoder, trained against the frozen encoder on the same latents the
// server decodes (posterior means). Distillation toward the frozen full decoder's output
// gives a dense, noise-free target; the pixel terms keep it anchored to the real clip
// where the full decoder itself is wrong.
#include <torch/torch.h>

#include "train/bf16_autocast.h"
#include "train/pixel_stage.h"
#include "train/video_losses.h"

namespace vidserve::train {
namespace {

class ThinDecoderStage : public PixelStage {
 public:
  ThinDecoderStage(const StageContext& context, std::unique_ptr<ClipBatcher> batcher)
      : PixelStage(context, std::move(batcher)) {}

  NamedTensors TrainableParameters() override {
    return PrefixedParameters("thin_decoder", *ctx_.network->thin_decoder);
  }
  std::vector<std::shared_ptr<torch::nn::Module>> TrainableModules() override {
    return {ctx_.network->thin_decoder.ptr()};
  }

  absl::StatusOr<StepLoss> Loss(int64_t step) override {
    auto batch = batcher_->Next();
    if (!batch.ok()) return batch.status();
    const torch::Tensor pixels = batch->pixels.to(ctx_.device, /*non_blocking=*/true);
    const LossWeights& w = ctx_.options->loss;
    torch::Tensor teacher, student, z;
    {
      Bf16Autocast autocast(ctx_.options->bf16 && ctx_.device.is_cuda());
      {
        torch::NoGradGuard no_grad;
        z = ctx_.network->encoder->EncodeMean(pixels);
        teacher = ctx_.network->decoder->forward(z).to(torch::kFloat32);
      }
      student = ctx_.network->thin_decoder->forward(z).to(torch::kFloat32);
    }
    const torch::Tensor distill = (student - teacher).abs().mean();
    const torch::Tensor l1 = (student - pixels).abs().mean();
    const torch::Tensor ssim = Ssim(student, pixels);
    const torch::Tensor gradient = GradientL1(student, pixels);
    StepLoss loss;
    loss.total = w.distill * distill +
                 w.thin_reconstruction * (w.l1 * l1 + w.ssim * (1 - ssim) + w.gradient * gradient);
    loss.terms = {{"distill", distill.item<double>()},
                  {"l1", l1.item<double>()},
                  {"ssim", ssim.item<double>()},
                  {"psnr_db", PsnrDb(student, pixels)},
                  {"teacher_psnr_db", PsnrDb(teacher, pixels)}};
    loss.clips = pixels.size(0);
    return loss;
  }

  std::vector<std::pair<std::string, double>> Evaluate() override {
    torch::NoGradGuard no_grad;
    const HeldOut held_out = EncodeHeldOut(32);
    return {{"heldout_psnr_db",
             PsnrDb(ctx_.network->thin_decoder->forward(held_out.latents), held_out.pixels)},
            {"heldout_full_psnr_db",
             PsnrDb(ctx_.network->decoder->forward(held_out.latents), held_out.pixels)}};
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrainingStage>> MakeThinDecoderStage(const StageContext& context) {
  return PixelStage::Make<ThinDecoderStage>(context);
}

}  // namespace vidserve::train

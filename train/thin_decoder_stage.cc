// Stage 2: the thin decoder, trained against the frozen encoder on the same latents the
// server decodes (posterior means). Distillation toward the frozen full decoder's output
// gives a dense, noise-free target; the pixel terms keep it anchored to the real clip
// where the full decoder itself is wrong.
#include <torch/torch.h>

#include "train/bf16_autocast.h"
#include "train/training_stage.h"
#include "train/video_losses.h"

namespace vidserve::train {
namespace {

class ThinDecoderStage : public TrainingStage {
 public:
  ThinDecoderStage(const StageContext& context, std::unique_ptr<ClipBatcher> batcher)
      : ctx_(context), batcher_(std::move(batcher)) {}

  NamedTensors TrainableParameters() override {
    return PrefixedParameters("thin_decoder", *ctx_.network->thin_decoder);
  }
  std::vector<std::shared_ptr<torch::nn::Module>> TrainableModules() override {
    return {ctx_.network->thin_decoder.ptr()};
  }

  absl::Status Prepare(int64_t start_step) override {
    batcher_->Seek(start_step);  // step k trains on batch k, resumed or not
    return absl::OkStatus();
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
    const ClipBatch held_out = HeldOutBatch(ctx_.options->data, 32);
    const torch::Tensor pixels = held_out.pixels.to(ctx_.device);
    const torch::Tensor z = ctx_.network->encoder->EncodeMean(pixels);
    return {{"heldout_psnr_db", PsnrDb(ctx_.network->thin_decoder->forward(z), pixels)},
            {"heldout_full_psnr_db", PsnrDb(ctx_.network->decoder->forward(z), pixels)}};
  }

 private:
  StageContext ctx_;
  std::unique_ptr<ClipBatcher> batcher_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrainingStage>> MakeThinDecoderStage(const StageContext& context) {
  auto batcher = ClipBatcher::Create(context.options->data, context.options->batch_size,
                                     context.options->seed);
  if (!batcher.ok()) return batcher.status();
  return std::unique_ptr<TrainingStage>(new ThinDecoderStage(context, std::move(*batcher)));
}

}  // namespace vidserve::train

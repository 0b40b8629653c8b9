// Stage 3: the text encoder and denoiser, by rectified flow matching on latents of the
// frozen encoder:
//   x0 = normalized latent, eps ~ N(0, I), t ~ logit-normal(0, 1) (SD3: more weight on
//   mid-range noise levels, where the velocity is hardest to predict),
//   x_t = (1 - t) x0 + t eps,  loss = || denoiser(x_t, t, text) - (eps - x0) ||^2.
// A caption_dropout share of captions is replaced by "" so the same network learns the
// unconditional velocity that classifier-free guidance needs.
//
// The VAE is frozen, so clips are encoded once into a latent cache on the device at the
// start (latent_cache_clips of them) and batches are drawn from it; for a fresh denoiser
// the cache also gives the per-channel latent statistics stored in the config.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <future>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model/flow_sampler.h"
#include "model/latent_normalization.h"
#include "model/mixers/softmax_attention.h"
#include "train/bf16_autocast.h"
#include "train/training_stage.h"

namespace vidserve::train {
namespace {

constexpr int64_t kEncodeBatch = 32;  // clips per encoder forward while building the cache

class DenoiserStage : public TrainingStage {
 public:
  DenoiserStage(const StageContext& context, std::unique_ptr<ClipBatcher> batcher)
      : ctx_(context), batcher_(std::move(batcher)) {}

  NamedTensors TrainableParameters() override {
    NamedTensors params = PrefixedParameters("text_encoder", *ctx_.network->text_encoder);
    for (auto& p : PrefixedParameters("denoiser", *ctx_.network->denoiser)) params.push_back(p);
    return params;
  }
  std::vector<std::shared_ptr<torch::nn::Module>> TrainableModules() override {
    return {ctx_.network->text_encoder.ptr(), ctx_.network->denoiser.ptr()};
  }

  absl::Status Prepare(int64_t /*start_step: batches come from the per-step RNG*/) override {
    const DataOptions& data = ctx_.options->data;
    int64_t clips = data.latent_cache_clips;
    if (batcher_->source_size() > 0) {
      clips = clips == 0 ? batcher_->source_size() : std::min(clips, batcher_->source_size());
    }
    const int64_t batches = (clips + kEncodeBatch - 1) / kEncodeBatch;
    LOG_INFO << "denoiser stage: encoding " << clips << " clips into the latent cache";
    // batcher_ holds kEncodeBatch clips per batch, so cache entry i is clip i.
    std::vector<torch::Tensor> latents;
    torch::NoGradGuard no_grad;
    for (int64_t b = 0; b < batches; ++b) {
      auto batch = batcher_->Next();
      if (!batch.ok()) return batch.status();
      const int64_t keep = std::min<int64_t>(kEncodeBatch, clips - b * kEncodeBatch);
      const torch::Tensor pixels = batch->pixels.narrow(0, 0, keep).to(ctx_.device);
      latents.push_back(ctx_.network->encoder->EncodeMean(pixels));
      for (int64_t i = 0; i < keep; ++i) captions_.push_back(std::move(batch->captions[i]));
    }
    cache_ = torch::cat(latents, 0);
    // Empty unless a resumed run or a continued denoiser brought them (trainer.cc says when).
    if (ctx_.config->vae.latent_mean.empty() || ctx_.config->vae.latent_std.empty()) {
      MeasureLatentStatistics(cache_, &ctx_.config->vae.latent_mean, &ctx_.config->vae.latent_std);
      LOG_INFO << "denoiser stage: latent statistics measured on the cache";
    } else {
      LOG_INFO << "denoiser stage: latent statistics kept from "
               << (ctx_.resumed ? "the resumed state" : "the init checkpoint");
    }
    normalizer_ = LatentNormalizer(ctx_.config->vae, ctx_.device);
    cache_ = normalizer_.Normalize(cache_);
    LOG_INFO << "denoiser stage: latent cache " << c10::str(cache_.sizes()) << " normalized std "
             << cache_.std().item<double>();
    return absl::OkStatus();
  }

  absl::StatusOr<StepLoss> Loss(int64_t step) override {
    const int64_t b = ctx_.options->batch_size;
    const auto index =
        torch::randint(cache_.size(0), {b}, torch::TensorOptions().dtype(torch::kLong));
    const auto dropped = torch::rand({b}) < ctx_.options->caption_dropout;
    std::vector<std::string> captions;
    auto index_a = index.accessor<int64_t, 1>();
    auto dropped_a = dropped.accessor<bool, 1>();
    for (int64_t i = 0; i < b; ++i) {
      captions.push_back(dropped_a[i] ? std::string() : captions_[index_a[i]]);
    }
    const torch::Tensor x0 = cache_.index_select(0, index.to(ctx_.device));
    const torch::Tensor t = torch::sigmoid(torch::randn({b}, x0.options()));
    const torch::Tensor eps = torch::randn_like(x0);
    const torch::Tensor xt = FlowSampler::Interpolate(x0, eps, t);
    torch::Tensor velocity;
    {
      Bf16Autocast autocast(ctx_.options->bf16 && ctx_.device.is_cuda());
      const TextEmbedding text = ctx_.network->text_encoder->Encode(captions, ctx_.device);
      velocity = ctx_.network->denoiser->forward(xt, t, text).to(torch::kFloat32);
    }
    const torch::Tensor mse = (velocity - FlowSampler::VelocityTarget(x0, eps)).pow(2).mean();
    StepLoss loss;
    loss.total = mse;
    loss.terms = {{"mse", mse.item<double>()}};
    loss.clips = b;
    return loss;
  }

  // After training (EMA weights): the flow-matching loss on held-out clips, with every
  // caption, t on a fixed grid and fixed noise, in float32 (comparable between runs, unlike
  // the training loss), and each softmax layer's largest attention logit (growing logits
  // diverged bf16 training before attention moved to float32; BENCHMARKS.md section 5).
  std::vector<std::pair<std::string, double>> Evaluate() override {
    torch::NoGradGuard no_grad;
    constexpr int kClips = 64;
    const ClipBatch held_out = HeldOutBatch(ctx_.options->data, kClips);
    std::vector<torch::Tensor> latents;
    for (int64_t i = 0; i < kClips; i += kEncodeBatch) {
      const int64_t n = std::min<int64_t>(kEncodeBatch, kClips - i);
      latents.push_back(
          ctx_.network->encoder->EncodeMean(held_out.pixels.narrow(0, i, n).to(ctx_.device)));
    }
    const torch::Tensor x0 = normalizer_.Normalize(torch::cat(latents, 0));
    const torch::Tensor t =
        ((torch::arange(kClips, torch::kFloat32) + 0.5) / kClips).to(ctx_.device);
    at::Generator noise_generator = at::detail::createCPUGenerator(/*seed_in=*/20261128);
    const torch::Tensor eps =
        torch::randn(x0.sizes(), noise_generator, torch::kFloat32).to(ctx_.device);
    std::vector<SoftmaxAttention*> layers;
    for (const auto& module : ctx_.network->denoiser->modules(/*include_self=*/false)) {
      if (auto* attention = dynamic_cast<SoftmaxAttention*>(module.get())) {
        layers.push_back(attention);
      }
    }
    std::vector<double> max_logit(layers.size(), 0.0);
    for (size_t i = 0; i < layers.size(); ++i) layers[i]->set_logit_probe(&max_logit[i]);
    const TextEmbedding text = ctx_.network->text_encoder->Encode(held_out.captions, ctx_.device);
    const torch::Tensor velocity =
        ctx_.network->denoiser->forward(FlowSampler::Interpolate(x0, eps, t), t, text);
    for (SoftmaxAttention* layer : layers) layer->set_logit_probe(nullptr);
    std::vector<std::pair<std::string, double>> out = {
        {"heldout_mse",
         (velocity - FlowSampler::VelocityTarget(x0, eps)).pow(2).mean().item<double>()}};
    for (size_t i = 0; i < layers.size(); ++i) {
      out.emplace_back(absl::StrCat("attention_max_logit_", i), max_logit[i]);
    }
    return out;
  }

 private:
  StageContext ctx_;
  std::unique_ptr<ClipBatcher> batcher_;
  torch::Tensor cache_;  // [N, C, T', H', W'] normalized latents on the device
  std::vector<std::string> captions_;
  LatentNormalizer normalizer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrainingStage>> MakeDenoiserStage(const StageContext& context) {
  auto batcher = ClipBatcher::Create(context.options->data, kEncodeBatch, context.options->seed);
  if (!batcher.ok()) return batcher.status();
  return std::unique_ptr<TrainingStage>(new DenoiserStage(context, std::move(*batcher)));
}

}  // namespace vidserve::train

// What the two stages that train on pixel batches (vae, thin) share: the context, a
// ClipBatcher positioned so that step k trains on batch k (resumed or not), and the
// held-out clips with their latents for Evaluate().
//
// Thread-safety: not thread-safe; owned and driven by the training loop.
#ifndef VIDSERVE_TRAIN_PIXEL_STAGE_H_
#define VIDSERVE_TRAIN_PIXEL_STAGE_H_

#include <memory>
#include <utility>

#include "train/training_stage.h"

namespace vidserve::train {

class PixelStage : public TrainingStage {
 public:
  absl::Status Prepare(int64_t start_step) override {
    batcher_->Seek(start_step);
    return absl::OkStatus();
  }

  // Builds a stage of type Stage (constructed from (context, batcher)) with a batcher of
  // options.batch_size clips.
  template <typename Stage>
  static absl::StatusOr<std::unique_ptr<TrainingStage>> Make(const StageContext& context) {
    auto batcher = ClipBatcher::Create(context.options->data, context.options->batch_size,
                                       context.options->seed);
    if (!batcher.ok()) return batcher.status();
    return std::unique_ptr<TrainingStage>(new Stage(context, std::move(*batcher)));
  }

 protected:
  PixelStage(const StageContext& context, std::unique_ptr<ClipBatcher> batcher)
      : ctx_(context), batcher_(std::move(batcher)) {}

  struct HeldOut {
    torch::Tensor pixels;   // [N, 3, T, H, W] on the device
    torch::Tensor latents;  // the encoder's posterior means
  };
  // The first `count` held-out clips and their latents (call under NoGradGuard).
  HeldOut EncodeHeldOut(int count) {
    HeldOut out;
    out.pixels = HeldOutBatch(ctx_.options->data, count).pixels.to(ctx_.device);
    out.latents = ctx_.network->encoder->EncodeMean(out.pixels);
    return out;
  }

  StageContext ctx_;
  std::unique_ptr<ClipBatcher> batcher_;
};

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_PIXEL_STAGE_H_

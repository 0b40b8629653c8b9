// One training stage as the generic loop (trainer.cc) sees it: which parameters it trains,
// any preparation, and the loss of one step. The stages themselves are vae_stage.cc,
// thin_decoder_stage.cc and denoiser_stage.cc.
//
// Thread-safety: not thread-safe; owned and driven by the training loop.
#ifndef VIDSERVE_TRAIN_TRAINING_STAGE_H_
#define VIDSERVE_TRAIN_TRAINING_STAGE_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model_config.h"
#include "model/video_network.h"
#include "train/clip_batcher.h"
#include "train/parameter_ema.h"
#include "train/train_options.h"

namespace vidserve::train {

struct StepLoss {
  torch::Tensor total;  // scalar to backpropagate
  // Readouts for the log (the weighted terms and e.g. PSNR), in a fixed order per stage.
  std::vector<std::pair<std::string, double>> terms;
  int64_t clips = 0;  // clips this step consumed (for the rate)
};

// What every stage gets to work with. The network and config outlive the stage.
struct StageContext {
  VideoNetwork network{nullptr};  // on `device`
  ModelConfig* config = nullptr;  // the denoiser stage writes the latent statistics here
  torch::Device device{torch::kCPU};
  const TrainOptions* options = nullptr;
  bool resumed = false;  // state came from run_dir (statistics already in config)
};

class TrainingStage {
 public:
  virtual ~TrainingStage() = default;
  // The parameters this stage trains, named as in the exported network ("decoder.*").
  // Everything else in the network is frozen (requires_grad off, eval mode).
  virtual NamedTensors TrainableParameters() = 0;
  // The root modules owning TrainableParameters (set to train mode by the loop).
  virtual std::vector<std::shared_ptr<torch::nn::Module>> TrainableModules() = 0;
  // Once, before the first step `start_step` (> 0 when resuming): e.g. positioning the
  // batcher, or the denoiser stage's latent cache.
  virtual absl::Status Prepare(int64_t start_step) = 0;
  // The loss of optimiser step `step`. The loop seeds LibTorch's RNG from (seed, step)
  // before calling, so a step's randomness does not depend on what ran before it.
  virtual absl::StatusOr<StepLoss> Loss(int64_t step) = 0;
  // Measures of the (EMA) weights on held-out data after training, for summary.json.
  virtual std::vector<std::pair<std::string, double>> Evaluate() { return {}; }
};

absl::StatusOr<std::unique_ptr<TrainingStage>> MakeVaeStage(const StageContext& context);
absl::StatusOr<std::unique_ptr<TrainingStage>> MakeThinDecoderStage(const StageContext& context);
absl::StatusOr<std::unique_ptr<TrainingStage>> MakeDenoiserStage(const StageContext& context);

// Parameters of `module` named "<prefix>.<name>".
NamedTensors PrefixedParameters(const std::string& prefix, const torch::nn::Module& module);
// Held-out synthetic clips (data::HeldOutSeeds) as a batch, for Evaluate().
ClipBatch HeldOutBatch(const DataOptions& data, int count);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_TRAINING_STAGE_H_

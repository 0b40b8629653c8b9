// The resumable state of a training run, in <run_dir>/state/: every network weight (raw,
// fp32, config embedded), the EMA shadows, the AdamW moments and trainer.json (step,
// schedule length, the options a resume must share).
//
// Every file is written beside its final name and renamed over it (atomic per file), and
// trainer.json, which says which step the state is, goes last. Not a directory swap:
// std::filesystem::remove_all crashed (SIGSEGV) on the CUDA machine's toolchain.
//
// Thread-safety: not thread-safe; one training loop owns it.
#ifndef VIDSERVE_TRAIN_TRAINING_STATE_H_
#define VIDSERVE_TRAIN_TRAINING_STATE_H_

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model_config.h"
#include "model/video_network.h"
#include "train/parameter_ema.h"

namespace vidserve::train {

class TrainingState {
 public:
  explicit TrainingState(const std::string& run_dir);

  // True once a Save() has completed.
  bool exists() const;
  absl::Status Save(VideoNetwork& network, const ModelConfig& config, const ParameterEma& ema,
                    torch::optim::Optimizer& optimizer, const nlohmann::json& trainer);
  // The network itself is read with LoadVideoNetwork(network_path()).
  std::string network_path() const;
  absl::StatusOr<nlohmann::json> LoadTrainer() const;
  absl::Status LoadOptimizerAndEma(torch::optim::Optimizer& optimizer, ParameterEma& ema,
                                   const torch::Device& device) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_TRAINING_STATE_H_

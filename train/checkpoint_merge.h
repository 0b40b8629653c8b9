// Assembles the shipped checkpoint from the stages' exports: encoder + full decoder from
// the vae stage, the thin decoder from the thin stage, text encoder + denoiser (and the
// config, which carries the latent statistics and mixers) from the denoiser stage. The
// thin and denoiser stages start from the vae export, so their copies of the encoder must
// equal the vae export's; a mismatch (stages trained on different encoders) is an error.
//
// Thread-safety: free function, no shared state.
#ifndef VIDSERVE_TRAIN_CHECKPOINT_MERGE_H_
#define VIDSERVE_TRAIN_CHECKPOINT_MERGE_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "model/checkpoint.h"
#include "model/model_config.h"

namespace vidserve::train {

struct MergeOptions {
  std::string vae_checkpoint;       // vae stage export
  std::string thin_checkpoint;      // thin stage export
  std::string denoiser_checkpoint;  // denoiser stage export
  std::string output;               // .safetensors path (its directory is created)
  std::string name;                 // model name to record; empty keeps the config's
  CheckpointDtype dtype = CheckpointDtype::kFloat16;
  bool trained = true;
  std::map<std::string, double> metrics;  // stored as metadata metric.<name>
  // The sampler settings to record; unset keeps the denoiser checkpoint's. Sampling
  // settings are tuned on held-out prompts after training (vidserve-bench quality), so a
  // re-merge can record them without touching a weight.
  std::optional<SamplerConfig> sampler;
};

absl::Status MergeCheckpoints(const MergeOptions& options);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_CHECKPOINT_MERGE_H_

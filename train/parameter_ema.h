// Exponential moving average of a set of trainable tensors (the "EMA weights" that are
// exported instead of the raw, noisier weights). Shadows live on the parameters' device
// and are updated with two fused multi-tensor ops per step.
//
// Thread-safety: not thread-safe; owned by the training loop.
#ifndef VIDSERVE_TRAIN_PARAMETER_EMA_H_
#define VIDSERVE_TRAIN_PARAMETER_EMA_H_

#include <torch/torch.h>

#include "absl/status/status.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vidserve::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class ParameterEma {
 public:
  // Shadows start as copies of `parameters`. decay 0 = disabled (shadows track the weights).
  ParameterEma(const NamedTensors& parameters, double decay);

  // shadow = d * shadow + (1 - d) * param with d = min(decay, (1 + step) / (10 + step)):
  // early weights are mostly forgotten instead of anchoring the average for thousands of
  // steps. `step` is the optimiser step just taken (0-based).
  void Update(int64_t step);
  // The effective decay Update(step) uses.
  double DecayAt(int64_t step) const;
  // Copies the shadows into the parameters (for export).
  void CopyToParameters() const;

  const NamedTensors& shadows() const { return shadows_; }
  // Restores shadows from a resumed run. Fails (changing nothing) on a missing name or a
  // shape mismatch; the message names the tensor.
  absl::Status LoadShadows(const std::map<std::string, torch::Tensor>& saved);

 private:
  double decay_;
  NamedTensors parameters_;  // aliases of the live parameters
  NamedTensors shadows_;
};

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_PARAMETER_EMA_H_

// safetensors checkpoints, read and written by hand (no Python, no extra dependency):
//   8-byte little-endian header length N | N bytes of JSON header | raw tensor data.
// Header: {"<name>": {"dtype": "F32"|"F16"|"BF16", "shape": [...], "data_offsets": [b, e]},
//          "__metadata__": {"<key>": "<string value>", ...}}; offsets are relative to the
// start of the data section. vidserve stores its ModelConfig as JSON under
// metadata["vidserve_config"], "trained" = "true"|"false", and metrics as "metric.<name>".
// Every malformed input is an absl error naming the file and the offending tensor/field.
//
// Thread-safety: free functions without shared state; safe to call concurrently on
// different files/modules.
#ifndef VIDSERVE_MODEL_CHECKPOINT_H_
#define VIDSERVE_MODEL_CHECKPOINT_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vidserve {

enum class CheckpointDtype { kFloat32, kFloat16 };

struct CheckpointContents {
  std::map<std::string, torch::Tensor> tensors;  // CPU float32, contiguous
  std::map<std::string, std::string> metadata;
};

// Writes `tensors` (any device/float dtype; stored as `dtype`) and `metadata`.
absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata,
                              CheckpointDtype dtype);

// Reads and validates a whole file (F32/F16/BF16 are converted to float32).
absl::StatusOr<CheckpointContents> ReadSafetensors(const std::string& path);

// Parameters and buffers of `module` by dotted name, as safetensors wants them.
std::vector<std::pair<std::string, torch::Tensor>> ModuleStateDict(const torch::nn::Module& module);

// Copies `tensors` into the module's parameters and buffers. Fails, changing nothing, on
// missing keys, unexpected keys or shape mismatches; `source` names the file in errors.
absl::Status LoadModuleState(torch::nn::Module& module,
                             const std::map<std::string, torch::Tensor>& tensors,
                             const std::string& source);

// Copies every parameter and buffer of `from` into `to` (the same architecture), with
// LoadModuleState's checks; `source` names where `from` came from in errors.
absl::Status CopyModuleState(const torch::nn::Module& from, torch::nn::Module& to,
                             const std::string& source);

// Copies the parameters and buffers of `from` whose dotted name and shape also exist in
// `to`, leaving the others of `to` as they are (warm-starting a reshaped module).
struct MatchingCopy {
  int copied = 0;  // tensors copied
  int total = 0;   // tensors in `to`
};
MatchingCopy CopyMatchingTensors(const torch::nn::Module& from, torch::nn::Module& to);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CHECKPOINT_H_

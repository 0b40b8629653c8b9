// All trainable parts of a vidserve model under one root module, so that one safetensors
// file holds them with stable dotted names ("encoder.*", "decoder.*", "thin_decoder.*",
// "text_encoder.*", "denoiser.*"), plus building from a ModelConfig and checkpoint
// save/load with the config embedded. Shared by the VideoModel facade and the training
// tools. Internal to model/ (includes torch).
//
// Thread-safety: VideoNetwork is a torch::nn::Module (concurrent forward() only without
// mutation). BuildVideoNetwork is thread-safe: it seeds and uses LibTorch's global RNG
// under a process-wide lock so concurrent builds (one per GPU worker) get identical weights.
#ifndef VIDSERVE_MODEL_VIDEO_NETWORK_H_
#define VIDSERVE_MODEL_VIDEO_NETWORK_H_

#include <torch/torch.h>

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/checkpoint.h"
#include "model/denoiser.h"
#include "model/model_config.h"
#include "model/text_encoder.h"
#include "model/vae.h"

namespace vidserve {

class VideoNetworkImpl : public torch::nn::Module {
 public:
  VideoNetworkImpl(VaeEncoder encoder, VaeDecoder decoder, VaeDecoder thin_decoder,
                   TextEncoder text_encoder, Denoiser denoiser);

  VaeEncoder encoder;
  VaeDecoder decoder;       // full width
  VaeDecoder thin_decoder;  // pixel-near stages narrowed
  TextEncoder text_encoder;
  Denoiser denoiser;
};
TORCH_MODULE(VideoNetwork);

int64_t CountParameters(const torch::nn::Module& module);

// Module options derived from a (validated) config.
VaeEncoderOptions EncoderOptionsFromConfig(const ModelConfig& config);
VaeDecoderOptions DecoderOptionsFromConfig(const ModelConfig& config, bool thin);
TextEncoderOptions TextEncoderOptionsFromConfig(const ModelConfig& config);
DenoiserOptions DenoiserOptionsFromConfig(const ModelConfig& config, bool adaln_zero_init);

// Validates `config` and builds a network on CPU with weights drawn from `init_seed`.
// Reseeds LibTorch's global RNG (under the lock) as a side effect.
absl::StatusOr<VideoNetwork> BuildVideoNetwork(const ModelConfig& config, uint64_t init_seed,
                                               bool adaln_zero_init);

struct CheckpointInfo {
  bool trained = false;
  std::map<std::string, double> metrics;  // stored as metadata "metric.<name>"
};

// Saves every parameter and buffer with the config (ModelConfigToJson) and `info`.
absl::Status SaveVideoNetwork(const std::string& path, VideoNetwork& network,
                              const ModelConfig& config, const CheckpointInfo& info,
                              CheckpointDtype dtype);

struct LoadedVideoNetwork {
  ModelConfig config;
  VideoNetwork network{nullptr};  // on CPU
  CheckpointInfo info;
  std::string path;  // the file actually read
};

// `path` is a .safetensors file or a directory holding model.safetensors. The architecture
// comes from the file's "vidserve_config" metadata.
absl::StatusOr<LoadedVideoNetwork> LoadVideoNetwork(const std::string& path);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_VIDEO_NETWORK_H_

// VideoModel: the protocol-free facade the server talks to. It owns the VAE (full and thin
// decoders), the text encoder and the denoiser on one device, and exposes batched Encode /
// Decode and step-level generation so a scheduler can batch at denoise-step granularity.
//
// Thread-safety: NOT thread-safe. One worker thread owns a VideoModel and makes every call.
// No torch in this header (keeps the server's build fast); tensors live behind pimpl.
#ifndef VIDSERVE_MODEL_VIDEO_MODEL_H_
#define VIDSERVE_MODEL_VIDEO_MODEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model_config.h"
#include "model/video_types.h"

namespace vidserve {

struct ModelInfo {
  ModelConfig config;
  bool trained = false;        // false when running random weights
  std::string checkpoint;      // path loaded, empty if none
  std::string device;          // "cpu", "cuda:0"
  int64_t vae_parameters = 0;  // encoder + full decoder
  int64_t thin_decoder_parameters = 0;
  int64_t denoiser_parameters = 0;  // denoiser + text encoder
  std::map<std::string, double> metrics;  // from checkpoint metadata (e.g. psnr_db)
  bool cuda_graph_decode = false;  // Decode replays captured CUDA graphs (CUDA only)
  DecodePrecision decode_precision = DecodePrecision::kFloat32;  // what Decode runs in
  bool decode_channels_last = false;  // decoder activations in channels-last 3D layout
  bool decode_conv2d = false;         // decoder convolutions as conv2d over frames
  bool decode_direct_conv = false;    // narrow decoder convolutions in vidserve's CUDA kernel
  bool decode_fold_upsampling = false;  // upsampling read through by the direct kernel
  bool decode_fold_norms = false;       // norms applied by the convolution before them
  bool fused_norm = false;            // VAE norms + SiLU in one pass (Encode and Decode)
  int64_t chunk_latent_voxels = 0;    // Encode/Decode time-chunk budget in effect (see Options)
};

// One request's denoising state. Created by VideoModel::StartGeneration, advanced by
// VideoModel::DenoiseStep. Not thread-safe; owned by the worker that runs it.
class Generation {
 public:
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  const GenerationParams& params() const { return params_; }
  int64_t steps_done() const { return steps_done_; }
  bool finished() const { return steps_done_ >= params_.steps; }
  // Latent shape [C, T', H', W']; generations can share a DenoiseStep batch iff equal.
  const std::array<int64_t, 4>& latent_shape() const { return latent_shape_; }

 private:
  friend class VideoModel;
  struct State;  // tensors: current latent, text embeddings, schedule
  Generation(GenerationParams params, std::array<int64_t, 4> latent_shape,
             std::unique_ptr<State> state);

  GenerationParams params_;
  std::array<int64_t, 4> latent_shape_;
  int64_t steps_done_ = 0;
  std::unique_ptr<State> state_;
};

// Default time-chunk budget of Encode and Decode (VideoModel::Options::chunk_latent_voxels):
// 4 latent frames of one 256x256 video. On 2 CPU cores a 65x256x256 full decode took
// 18.6 s / 3.3 GB one-shot and 12.3 s / 1.4 GB chunked. On the H200, budgets up to 64x
// larger were 0-17% faster at 65x256x256, partly within run-to-run noise, while each
// CUDA graph's memory pool grows with the budget (BENCHMARKS.md section 3), so the
// default is the same on every device.
inline constexpr int64_t kDefaultChunkLatentVoxels = 4 * 32 * 32;

class VideoModel {
 public:
  struct Options {
    ModelConfig config;            // architecture when no checkpoint is given
    std::string checkpoint_path;   // .safetensors file or a directory holding model.safetensors; empty = random weights
    std::string device = "auto";   // "auto" (cuda if available, else cpu) | "cpu" | "cuda" | "cuda:N"
    uint64_t init_seed = 0;        // seed of random weights when no checkpoint is given
    int num_threads = 0;           // CPU intra-op threads; 0 = leave LibTorch's setting
    // Encode and Decode run the causal VAE over time chunks of at most this many latent
    // voxels (batch x latent frames x latent height x latent width; at least one latent
    // frame), so peak activation memory stays bounded for long videos.
    // 0 = kDefaultChunkLatentVoxels.
    int64_t chunk_latent_voxels = 0;
    // Replace the checkpoint's (or config's) sampler settings; unset fields keep them.
    SamplerOverrides sampler;
    // CUDA devices only (ignored on CPU and in builds without CUDA):
    // Decode captures one CUDA graph per (decoder, latent batch shape), keeping the
    // `cuda_graph_cache_size` most recently used, and replays it: small decodes are
    // launch-bound on a GPU. 0 = eager decode.
    int cuda_graph_cache_size = 32;
    // Decodes whose RGB output is at most this many bytes move their latents in and their
    // bytes out through page-locked host memory (LibTorch's caching host allocator keeps
    // the buffers): one DMA each way instead of copies through pageable memory. Larger
    // decodes copy through pageable memory. 0 = never page-locked. On an H200, staging
    // every size was no faster than this 8 MiB (a 65x256x256 x 8 thin decode took 52 vs
    // 49 ms; vidserve-bench vae --page-locked-max-mib, BENCHMARKS.md section 3).
    int64_t decode_page_locked_max_bytes = int64_t{8} << 20;
    // cuDNN autotunes each new convolution shape once and reuses the fastest kernel
    // (at::globalContext().setBenchmarkCuDNN; process-wide, but LibTorch 2.x keeps the
    // tuned plans per thread, so the server warms up on the thread that serves).
    bool cudnn_benchmark = true;
    // The decoders' weights and activations in this precision (fp32 statistics inside the
    // norms; the latents still arrive in float32 and the bytes are rounded from float32).
    DecodePrecision decode_precision = DecodePrecision::kFloat32;
    // Decoder activations and weights in channels-last 3D layout (NDHWC), which cuDNN's
    // tensor-core kernels take without transposing. On an H100 it helped some sizes and
    // hurt others (BENCHMARKS.md section 3), hence off by default.
    bool decode_channels_last = false;
    // Every decoder convolution as a conv2d over frames folded into the batch (temporal
    // taps stacked on channels). Slower on an H100 at every measured size; kept so other
    // GPUs and cuDNN versions can be measured with vidserve-bench vae --conv2d.
    bool decode_conv2d = false;
    // Narrow decoder convolutions (3x3x3, at most 16 output channels: the thin decoder's
    // pixel stages, every decoder's RGB output) in vidserve's direct CUDA kernel
    // (model/cuda/narrow_conv3d.h) instead of cuDNN; skip projections into at most 16
    // channels fused with their residual add (model/cuda/skip_projection_add.h); and the
    // latent-level cuDNN convolutions in channels-last layout, which spares cuDNN its
    // transposes. No effect with decode_conv2d or decode_channels_last, on CPU, or in a
    // build without CUDA code. vidserve-bench vae --direct-conv 0,1 measures it.
    bool decode_direct_conv = true;
    // With decode_direct_conv: a decoder's nearest-neighbour upsampling before a narrow
    // convolution (the thin decoder's pixel stages) is read through by the direct kernel
    // instead of being copied first, for clips decoded whole (CausalConv3d::
    // ForwardFoldingUpsampling). Off by default: on the H200 it made one 17x64x64 clip's
    // thin decode 8-17 us slower and a batch of 8 3-5% faster (BENCHMARKS.md section 3);
    // vidserve-bench vae --fold-upsampling 0,1 measures it.
    bool decode_fold_upsampling = false;
    // With decode_direct_conv and fused_norm: a norm whose input only a narrow convolution
    // writes (a decoder res block's second norm; the decoder's output norm) is applied by
    // that convolution's direct kernel as it writes its output (CausalConv3d::
    // ForwardWithOutputNorm: the CUDA-core path, or the tensor-core one with split input
    // channels; in the thin decoder, three norms). Off by default: on the H200 it was
    // within +-4 us of the unfolded decode for one 17x64x64 clip and 0-2% faster at a batch of
    // 8 (BENCHMARKS.md section 3); vidserve-bench vae --fold-norms 0,1 measures it.
    bool decode_fold_norms = false;
    // Each VAE norm and the SiLU after it in one pass over the activation
    // (model/channel_rms_norm_silu.h; CPU float32 and CUDA) instead of LibTorch's eight
    // ops, in Encode and in both decoders. vidserve-bench vae --fused-norm 0,1 measures it.
    bool fused_norm = true;
  };

  static absl::StatusOr<std::unique_ptr<VideoModel>> Create(const Options& options);
  ~VideoModel();

  const ModelInfo& info() const;

  // Encodes same-shape clips in one forward pass. Each clip: frames = 4k+1, height and
  // width multiples of 16. Returns one float32 latent per clip, in order.
  absl::StatusOr<std::vector<Latent>> Encode(absl::Span<const VideoClip* const> clips);

  // Where one Decode call's time went (vidserve-bench vae reports the decoders' speed both
  // end to end and network only, since the host work around the network is the same for
  // both decoders).
  struct DecodeTimings {
    // The decoder network and the rounding to bytes, on the device: CUDA events around the
    // graph replay (or eager launches) on CUDA, wall time on CPU.
    double network_seconds = 0;
    // Copying the bytes into the clips' host buffers, once the device is done (wall time).
    double output_seconds = 0;
  };

  // Decodes same-shape latents in one forward pass with the chosen decoder. With `timings`
  // it also measures the call's parts (one extra stream synchronization on CUDA).
  absl::StatusOr<std::vector<VideoClip>> Decode(absl::Span<const Latent* const> latents,
                                               DecoderKind decoder, double fps,
                                               DecodeTimings* timings = nullptr);

  // Prepares a generation: encodes the prompt, draws the initial noise from params.seed
  // (on CPU, so the result does not depend on the batch it later runs in).
  absl::StatusOr<std::unique_ptr<Generation>> StartGeneration(const GenerationParams& params);

  // Advances every generation in `batch` by one sampler step in one batched forward pass,
  // each at its own timestep and with its own sampler settings (guidance interval,
  // stochasticity). All must share latent_shape() and not be finished. On error
  // no generation in the batch has advanced (RESOURCE_EXHAUSTED on out-of-memory).
  absl::Status DenoiseStep(absl::Span<Generation* const> batch);

  // The final latent of a finished generation.
  absl::StatusOr<Latent> FinalLatent(const Generation& generation) const;

  // Peak/current accelerator memory in bytes (0 on CPU).
  struct MemoryStats {
    int64_t allocated_bytes = 0;
    int64_t reserved_bytes = 0;
    int64_t peak_bytes = 0;
    int64_t total_bytes = 0;
  };
  MemoryStats DeviceMemory() const;
  // Restarts peak_bytes from the current allocation (benchmarks; no-op on CPU).
  void ResetPeakDeviceMemory();

 private:
  struct Impl;
  explicit VideoModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether a CUDA device is usable by this build (false on CPU-only LibTorch).
bool CudaAvailable();
std::string TorchVersion();

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_VIDEO_MODEL_H_

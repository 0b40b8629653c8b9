#include "model/video_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "model/causal_res_block.h"
#include "model/device.h"
#include "model/device_timer.h"
#include "model/flow_sampler.h"
#include "model/latent_normalization.h"
#include "model/status_macros.h"
#include "model/text_encoder.h"
#include "model/video_network.h"

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/cuda_graph_cache.h"
#endif

namespace vidserve {
namespace {

std::string ShapeString(const std::array<int64_t, 4>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// Turns a LibTorch exception into a status: CUDA/CPU out-of-memory becomes
// RESOURCE_EXHAUSTED so the caller can split the batch and retry; anything else is a bug
// or an environment problem and becomes INTERNAL. Matching the message works across
// LibTorch 1.13 and 2.x, whose OOM exception types differ.
absl::Status TorchErrorToStatus(const char* where, const std::exception& e) {
  const std::string message = e.what();
  const std::string first_line = message.substr(0, message.find('\n'));
  if (message.find("out of memory") != std::string::npos ||
      message.find("Out of memory") != std::string::npos) {
    return absl::ResourceExhaustedError(absl::StrCat(where, ": out of memory: ", first_line));
  }
  return absl::InternalError(absl::StrCat(where, ": LibTorch error: ", first_line));
}

// Latent frames per Encode/Decode time chunk: as many as `budget` latent voxels hold, at
// least one. Small requests take one chunk.
int64_t ChunkLatentFrames(int64_t budget, int64_t batch, int64_t latent_height,
                          int64_t latent_width) {
  return std::max<int64_t>(1, budget / (batch * latent_height * latent_width));
}

bool IsValidFrameCount(int64_t frames) { return frames >= 1 && (frames - 1) % 4 == 0; }

torch::Tensor LatentToTensor(const Latent& latent) {
  return torch::from_blob(const_cast<float*>(latent.data.data()),
                          {latent.shape[0], latent.shape[1], latent.shape[2], latent.shape[3]},
                          torch::kFloat);
}

// torch::stack(parts, 0) on `device`. With `page_locked` (CUDA only) the stack is built in
// page-locked memory (LibTorch's caching host allocator keeps it for later calls), so the
// upload is one DMA instead of a copy from pageable memory, which ran at about 2.5 GB/s on
// an H200: 40 ms of a 65x256x256 x 8 Encode's 102 MB.
torch::Tensor StackOnDevice(const std::vector<torch::Tensor>& parts, const torch::Device& device,
                            bool page_locked) {
  std::vector<int64_t> shape = parts[0].sizes().vec();
  shape.insert(shape.begin(), static_cast<int64_t>(parts.size()));
  auto staged = torch::empty(shape, parts[0].options().pinned_memory(page_locked));
  torch::stack_out(staged, parts, 0);
  return staged.to(device);
}

Latent TensorToLatent(const torch::Tensor& t) {  // t: [C, T, H, W] on any device
  auto cpu = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Latent latent;
  for (int i = 0; i < 4; ++i) latent.shape[i] = cpu.size(i);
  latent.data.resize(cpu.numel());
  std::memcpy(latent.data.data(), cpu.data_ptr<float>(), cpu.numel() * sizeof(float));
  return latent;
}

torch::ScalarType TorchDtype(DecodePrecision precision) {
  switch (precision) {
    case DecodePrecision::kFloat16:
      return torch::kHalf;
    case DecodePrecision::kBFloat16:
      return torch::kBFloat16;
    case DecodePrecision::kFloat32:
      break;
  }
  return torch::kFloat;
}

}  // namespace

struct Generation::State {
  torch::Tensor x;                // current latent [1, C, T', H', W'] on the model's device
  TextEmbedding cond;             // the prompt's embedding, 1 row
  FlowSampler sampler;            // the model's settings with the request's overrides
  std::vector<double> timesteps;  // steps + 1 values from 1 to 0
  // The request's private CPU generator: it drew the initial noise and, with a stochastic
  // sampler, draws each step's fresh noise, so results depend on the seed alone.
  at::Generator noise;
};

Generation::Generation(GenerationParams params, std::array<int64_t, 4> latent_shape,
                       std::unique_ptr<State> state)
    : params_(std::move(params)), latent_shape_(latent_shape), state_(std::move(state)) {}

Generation::~Generation() = default;

struct VideoModel::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  int64_t decode_page_locked_max_bytes = 0;  // Options::decode_page_locked_max_bytes
  VideoNetwork network{nullptr};
  TextEmbedding uncond;  // empty-prompt embedding, 1 row, for classifier-free guidance
  // The denoiser samples in normalized latent space; FinalLatent maps back to the VAE's.
  LatentNormalizer latent_normalizer;
#ifdef VIDSERVE_HAVE_CUDA
  std::unique_ptr<CudaGraphCache> decode_graphs;  // CUDA devices with graphs on only
#endif

  int64_t SpatialMultiple() const { return 8 * info.config.denoiser.patch_size; }
  // Applies Options' decode_* settings (CUDA only) to both decoders and records them.
  void ConfigureDecodersForCuda(const VideoModel::Options& options);
  // Latents as the decoders take them: their dtype and memory layout.
  torch::Tensor ToDecoderInput(const torch::Tensor& latents) const;
  absl::Status ValidatePixelShape(const std::string& field, int64_t frames, int64_t height,
                                  int64_t width) const;
};

void VideoModel::Impl::ConfigureDecodersForCuda(const VideoModel::Options& options) {
  torch::NoGradGuard no_grad;
  for (VaeDecoder decoder : {network->decoder, network->thin_decoder}) {
    decoder->to(TorchDtype(options.decode_precision));
    if (options.decode_channels_last) {
      for (torch::Tensor& p : decoder->parameters()) {
        if (p.dim() == 5) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast3d));
      }
    }
    const Conv3dLowering lowering = options.decode_conv2d        ? Conv3dLowering::kConv2dOverFrames
                                    : options.decode_direct_conv ? Conv3dLowering::kAuto
                                                                 : Conv3dLowering::kLibTorchOnly;
    // What info.decode_direct_conv reports below.
    const bool vidserve_convs = lowering == Conv3dLowering::kAuto && !options.decode_channels_last;
    for (const auto& module : decoder->modules(/*include_self=*/false)) {
      if (auto* conv = module->as<CausalConv3dImpl>()) conv->lowering = lowering;
      if (auto* block = module->as<CausalResBlockImpl>()) {
        block->fused_skip = vidserve_convs;
        block->fold_norm = vidserve_convs && options.decode_fold_norms;
      }
    }
    decoder->fold_upsampling = vidserve_convs && options.decode_fold_upsampling;
    decoder->fold_norms = vidserve_convs && options.decode_fold_norms;
    if (vidserve_convs) {
      // The latent-level layers are wide (cuDNN's): their weights channels-last make cuDNN
      // write channels-last activations, which the norms, the residual adds and the next
      // convolution take as they are, where NCDHW cost cuDNN three transposes per
      // convolution. The upsampling copy returns to NCDHW for the direct kernel's layers.
      for (CausalConv3d& conv : decoder->LatentLevelConvs()) {
        if (conv->MayUseDirectKernel()) continue;
        torch::Tensor& w = conv->conv->weight;
        w.set_data(w.contiguous(at::MemoryFormat::ChannelsLast3d));
      }
    }
  }
  info.decode_precision = options.decode_precision;
  info.decode_channels_last = options.decode_channels_last;
  info.decode_conv2d = options.decode_conv2d;
#ifdef VIDSERVE_HAVE_CUDA
  // The kernel reads NCDHW only: channels-last activations stay with cuDNN.
  info.decode_direct_conv =
      options.decode_direct_conv && !options.decode_conv2d && !options.decode_channels_last;
  info.decode_fold_upsampling = info.decode_direct_conv && options.decode_fold_upsampling;
  // The norms it folds are the fused ones (ChannelRmsNorm::fused, from options.fused_norm).
  info.decode_fold_norms =
      info.decode_direct_conv && options.decode_fold_norms && options.fused_norm;
#endif
}

torch::Tensor VideoModel::Impl::ToDecoderInput(const torch::Tensor& latents) const {
  auto z = latents.to(TorchDtype(info.decode_precision));
  return info.decode_channels_last ? z.contiguous(at::MemoryFormat::ChannelsLast3d) : z;
}

absl::Status VideoModel::Impl::ValidatePixelShape(const std::string& field, int64_t frames,
                                                  int64_t height, int64_t width) const {
  const ModelLimits& limits = info.config.limits;
  if (!IsValidFrameCount(frames) || frames > limits.max_frames) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".frames: must be 4k+1 in [1, ", limits.max_frames, "], got ", frames));
  }
  const int64_t m = SpatialMultiple();
  if (height <= 0 || height % m != 0 || height > limits.max_height) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".height: must be a positive multiple of ", m,
                     " and <= ", limits.max_height, ", got ", height));
  }
  if (width <= 0 || width % m != 0 || width > limits.max_width) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".width: must be a positive multiple of ",
                                                   m, " and <= ", limits.max_width, ", got ",
                                                   width));
  }
  return absl::OkStatus();
}

VideoModel::VideoModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoModel::~VideoModel() = default;

const ModelInfo& VideoModel::info() const { return impl_->info; }

absl::StatusOr<std::unique_ptr<VideoModel>> VideoModel::Create(const Options& options) {
  try {
    if (options.num_threads < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "num_threads: must be >= 0 (0 = LibTorch default), got ", options.num_threads));
    }
    if (options.num_threads > 0) at::set_num_threads(options.num_threads);
    if (options.cuda_graph_cache_size < 0 || options.cuda_graph_cache_size > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("cuda_graph_cache_size: must be in [0, 1024] (0 = eager decode), got ",
                       options.cuda_graph_cache_size));
    }
    if (options.decode_page_locked_max_bytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("decode_page_locked_max_bytes: must be >= 0 (0 = never), got ",
                       options.decode_page_locked_max_bytes));
    }
    if (options.chunk_latent_voxels < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chunk_latent_voxels: must be >= 0 (0 = the default, ", kDefaultChunkLatentVoxels,
          "), got ", options.chunk_latent_voxels));
    }
    VIDSERVE_ASSIGN_OR_RETURN(torch::Device device, ResolveDevice(options.device));
    if (device.is_cuda() && options.cudnn_benchmark) at::globalContext().setBenchmarkCuDNN(true);

    auto impl = std::make_unique<Impl>();
    impl->device = device;
    impl->decode_page_locked_max_bytes = options.decode_page_locked_max_bytes;
    impl->info.chunk_latent_voxels =
        options.chunk_latent_voxels > 0 ? options.chunk_latent_voxels : kDefaultChunkLatentVoxels;
    if (options.checkpoint_path.empty()) {
      // adaLN gates start random rather than zero so an untrained model still reacts to
      // the prompt, the step and the seed (a zero-gated one would ignore all three).
      VIDSERVE_ASSIGN_OR_RETURN(impl->network, BuildVideoNetwork(options.config, options.init_seed,
                                                                 /*adaln_zero_init=*/false));
      impl->info.config = options.config;
      impl->info.trained = false;
      LOG_WARNING << "serving RANDOM weights: no checkpoint given, model " << options.config.name
                  << " initialised from init_seed=" << options.init_seed
                  << "; outputs are noise, trained=false";
    } else {
      VIDSERVE_ASSIGN_OR_RETURN(LoadedVideoNetwork loaded,
                                LoadVideoNetwork(options.checkpoint_path));
      impl->network = loaded.network;
      impl->info.config = loaded.config;
      impl->info.trained = loaded.info.trained;
      impl->info.checkpoint = loaded.path;
      impl->info.metrics = loaded.info.metrics;
      if (!loaded.info.trained) {
        LOG_WARNING << "serving RANDOM weights: checkpoint " << loaded.path
                    << " is marked trained=false";
      }
    }
    impl->network->eval();
    impl->network->to(device);
    for (const auto& module : impl->network->modules(/*include_self=*/false)) {
      if (auto* norm = module->as<ChannelRmsNormImpl>()) norm->fused = options.fused_norm;
    }
    impl->info.fused_norm = options.fused_norm;
    // Each generation builds its FlowSampler from these settings and its own overrides.
    VIDSERVE_RETURN_IF_ERROR(ApplySamplerOverrides(options.sampler, impl->info.config.limits,
                                                   impl->info.config.sampler));
    impl->info.device = device.str();
    if (device.is_cuda()) {
      impl->ConfigureDecodersForCuda(options);
    } else if (options.decode_precision != DecodePrecision::kFloat32 ||
               options.decode_channels_last || options.decode_conv2d) {
      LOG_WARNING << "decode_precision / decode_channels_last / decode_conv2d apply on CUDA "
                     "only; decoding in float32 on "
                  << device.str();
    }
#ifdef VIDSERVE_HAVE_CUDA
    if (device.is_cuda() && options.cuda_graph_cache_size > 0) {
      impl->decode_graphs = std::make_unique<CudaGraphCache>(
          CudaGraphCacheOptions{options.cuda_graph_cache_size});
      impl->info.cuda_graph_decode = true;
    }
#endif
    impl->latent_normalizer = LatentNormalizer(impl->info.config.vae, device);
    auto& net = impl->network;
    impl->info.vae_parameters = CountParameters(*net->encoder) + CountParameters(*net->decoder);
    impl->info.thin_decoder_parameters = CountParameters(*net->thin_decoder);
    impl->info.denoiser_parameters =
        CountParameters(*net->denoiser) + CountParameters(*net->text_encoder);
    {
      c10::InferenceMode inference;
      impl->uncond = net->text_encoder->Encode({""}, device);
    }
    LOG_INFO << "model ready name=" << impl->info.config.name << " device=" << impl->info.device
             << " trained=" << (impl->info.trained ? "true" : "false")
             << " checkpoint=" << (impl->info.checkpoint.empty() ? "none" : impl->info.checkpoint)
             << " vae_params=" << impl->info.vae_parameters
             << " thin_decoder_params=" << impl->info.thin_decoder_parameters
             << " denoiser_params=" << impl->info.denoiser_parameters << " torch=" << TorchVersion()
             << " threads=" << at::get_num_threads();
    return std::unique_ptr<VideoModel>(new VideoModel(std::move(impl)));
  } catch (const std::exception& e) {
    return TorchErrorToStatus("VideoModel::Create", e);
  }
}

absl::StatusOr<std::vector<Latent>> VideoModel::Encode(absl::Span<const VideoClip* const> clips) {
  if (clips.empty()) return absl::InvalidArgumentError("clips: empty batch");
  for (size_t i = 0; i < clips.size(); ++i) {
    const VideoClip* clip = clips[i];
    const std::string field = absl::StrCat("clips[", i, "]");
    if (clip == nullptr) return absl::InvalidArgumentError(absl::StrCat(field, ": null"));
    VIDSERVE_RETURN_IF_ERROR(
        impl_->ValidatePixelShape(field, clip->frames, clip->height, clip->width));
    if (static_cast<int64_t>(clip->rgb.size()) != clip->NumBytes()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".rgb: expected frames*height*width*3 = ", clip->NumBytes(),
                       " bytes, got ", clip->rgb.size()));
    }
    if (clip->frames != clips[0]->frames || clip->height != clips[0]->height ||
        clip->width != clips[0]->width) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": shape ", clip->frames, "x", clip->height, "x", clip->width,
                       " differs from clips[0] ", clips[0]->frames, "x", clips[0]->height, "x",
                       clips[0]->width, "; a batch must share one shape"));
    }
  }
  try {
    c10::InferenceMode inference;
    const int64_t t = clips[0]->frames, h = clips[0]->height, w = clips[0]->width;
    std::vector<torch::Tensor> frames;
    for (const VideoClip* clip : clips) {
      frames.push_back(
          torch::from_blob(const_cast<uint8_t*>(clip->rgb.data()), {t, h, w, 3}, torch::kUInt8));
    }
    auto pixels = StackOnDevice(frames, impl_->device, impl_->device.is_cuda())
                      .permute({0, 4, 1, 2, 3})
                      .to(torch::kFloat)
                      .div(127.5)
                      .sub(1.0);
    auto mean = impl_->network->encoder->EncodeMean(
        pixels, ChunkLatentFrames(impl_->info.chunk_latent_voxels, pixels.size(0), h / 8, w / 8));
    std::vector<Latent> latents;
    for (int64_t i = 0; i < mean.size(0); ++i) latents.push_back(TensorToLatent(mean[i]));
    return latents;
  } catch (const std::exception& e) {
    return TorchErrorToStatus("Encode", e);
  }
}

absl::StatusOr<std::vector<VideoClip>> VideoModel::Decode(absl::Span<const Latent* const> latents,
                                                          DecoderKind decoder, double fps,
                                                          DecodeTimings* timings) {
  if (latents.empty()) return absl::InvalidArgumentError("latents: empty batch");
  if (!(fps > 0.0) || !std::isfinite(fps)) {
    return absl::InvalidArgumentError(absl::StrCat("fps: must be finite and > 0, got ", fps));
  }
  if (decoder != DecoderKind::kFull && decoder != DecoderKind::kThin) {
    return absl::InvalidArgumentError(
        absl::StrCat("decoder: unknown kind ", static_cast<int>(decoder)));
  }
  const int64_t channels = impl_->info.config.vae.latent_channels;
  for (size_t i = 0; i < latents.size(); ++i) {
    const Latent* latent = latents[i];
    const std::string field = absl::StrCat("latents[", i, "]");
    if (latent == nullptr) return absl::InvalidArgumentError(absl::StrCat(field, ": null"));
    if (latent->shape[0] != channels) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".shape[0] (channels): expected ",
                                                     channels, ", got ", latent->shape[0]));
    }
    for (int d = 1; d < 4; ++d) {
      if (latent->shape[d] <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".shape: all dims must be > 0, got ", ShapeString(latent->shape)));
      }
    }
    // Check the decoded size against the limits before multiplying anything large.
    if (latent->shape[1] > (impl_->info.config.limits.max_frames - 1) / 4 + 1 ||
        latent->shape[2] > impl_->info.config.limits.max_height / 8 ||
        latent->shape[3] > impl_->info.config.limits.max_width / 8) {
      const std::array<int64_t, 3> decoded = latent->DecodedShape();
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".shape ", ShapeString(latent->shape), " decodes to ", decoded[0], "x",
          decoded[1], "x", decoded[2], ", beyond the model limits ",
          impl_->info.config.limits.max_frames, "x", impl_->info.config.limits.max_height, "x",
          impl_->info.config.limits.max_width));
    }
    if (static_cast<int64_t>(latent->data.size()) != latent->NumElements()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".data: expected ", latent->NumElements(), " floats for shape ",
                       ShapeString(latent->shape), ", got ", latent->data.size()));
    }
    // NaN/Inf would survive the clamp and turn into arbitrary bytes after the uint8 cast.
    const auto bad = std::find_if(latent->data.begin(), latent->data.end(),
                                  [](float v) { return !std::isfinite(v); });
    if (bad != latent->data.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".data[", bad - latent->data.begin(), "]: not a finite number"));
    }
    if (latent->shape != latents[0]->shape) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": shape ", ShapeString(latent->shape), " differs from latents[0] ",
                       ShapeString(latents[0]->shape), "; a batch must share one shape"));
    }
  }
  try {
    c10::InferenceMode inference;
    std::vector<torch::Tensor> parts;
    for (const Latent* latent : latents) parts.push_back(LatentToTensor(*latent));
    // Decodes on CUDA up to Options::decode_page_locked_max_bytes of output move their
    // latents in and their bytes out through page-locked memory: on an H200 that took a
    // 17x64x64 x 8 decode's copy out from 0.67 to 0.18 ms.
    const std::array<int64_t, 3> decoded = latents[0]->DecodedShape();
    const int64_t output_bytes =
        static_cast<int64_t>(latents.size()) * decoded[0] * decoded[1] * decoded[2] * 3;
    const bool page_locked =
        impl_->device.is_cuda() && output_bytes <= impl_->decode_page_locked_max_bytes;
    auto z = StackOnDevice(parts, impl_->device, page_locked);
    auto& net = impl_->network;
    const int64_t chunk_frames =
        ChunkLatentFrames(impl_->info.chunk_latent_voxels, z.size(0), z.size(3), z.size(4));
    // Device work only from latents to bytes, so that it can run as one CUDA graph.
    // [-1, 1] -> uint8, channels last: [B, T, H, W, 3].
    auto decode_to_bytes = [&](const torch::Tensor& latents) {
      const auto input = impl_->ToDecoderInput(latents);
      return decoder == DecoderKind::kThin
                 ? net->thin_decoder->DecodeToBytes(input, chunk_frames)
                 : net->decoder->DecodeToBytes(input, chunk_frames);
    };
    std::optional<DeviceTimer> network_timer;
    if (timings != nullptr) {
      network_timer.emplace(impl_->device);
      network_timer->Start();
    }
    torch::Tensor bytes;
#ifdef VIDSERVE_HAVE_CUDA
    if (impl_->decode_graphs) {
      bytes = impl_->decode_graphs->Run(decoder == DecoderKind::kThin ? "thin" : "full", z,
                                        decode_to_bytes);
    }
#endif
    if (!bytes.defined()) bytes = decode_to_bytes(z);
    if (network_timer) {
      network_timer->Stop();
      timings->network_seconds = network_timer->ElapsedSeconds();  // waits for the device
    }
    const auto output_start = std::chrono::steady_clock::now();
    // The bytes out: one copy of the batch into page-locked memory (for small decodes, as
    // above), then into each clip's buffer, not zero-filled first; or one copy per clip
    // straight into pageable memory. A graph's output is rewritten by its next replay: both
    // copies are synchronous (non_blocking false).
    std::vector<VideoClip> clips(latents.size());
    torch::Tensor host = bytes;
    if (page_locked) {
      host = torch::empty(bytes.sizes(), bytes.options().device(torch::kCPU).pinned_memory(true));
      host.copy_(bytes);
    }
    for (size_t i = 0; i < clips.size(); ++i) {
      VideoClip& clip = clips[i];
      clip.frames = bytes.size(1);
      clip.height = bytes.size(2);
      clip.width = bytes.size(3);
      clip.fps = fps;
      if (host.is_cuda()) {
        clip.rgb.resize(clip.NumBytes());
        torch::from_blob(clip.rgb.data(), {clip.frames, clip.height, clip.width, 3}, torch::kUInt8)
            .copy_(bytes[static_cast<int64_t>(i)]);
      } else {  // on the host already (staged, or a CPU decode): one copy, no zero-fill
        const uint8_t* src = host.data_ptr<uint8_t>() + static_cast<int64_t>(i) * clip.NumBytes();
        clip.rgb.assign(src, src + clip.NumBytes());
      }
    }
    if (timings != nullptr) {
      timings->output_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - output_start).count();
    }
    return clips;
  } catch (const std::exception& e) {
    return TorchErrorToStatus("Decode", e);
  }
}

absl::StatusOr<std::unique_ptr<Generation>> VideoModel::StartGeneration(
    const GenerationParams& params) {
  const ModelConfig& config = impl_->info.config;
  VIDSERVE_RETURN_IF_ERROR(
      impl_->ValidatePixelShape("params", params.frames, params.height, params.width));
  if (params.steps < 1 || params.steps > config.limits.max_steps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "params.steps: must be in [1, ", config.limits.max_steps, "], got ", params.steps));
  }
  if (!std::isfinite(params.guidance) || params.guidance < 0.0f ||
      params.guidance > config.limits.max_guidance) {
    return absl::InvalidArgumentError(absl::StrCat("params.guidance: must be in [0, ",
                                                   config.limits.max_guidance, "], got ",
                                                   params.guidance));
  }
  if (static_cast<int64_t>(params.prompt.size()) > config.denoiser.max_prompt_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("params.prompt: ", params.prompt.size(),
                                                   " bytes exceeds max_prompt_bytes ",
                                                   config.denoiser.max_prompt_bytes));
  }
  SamplerOverrides overrides;
  overrides.guidance_min_t = params.guidance_min_t;
  overrides.guidance_max_t = params.guidance_max_t;
  overrides.stochasticity = params.stochasticity;
  SamplerConfig sampler = config.sampler;
  if (absl::Status s = ApplySamplerOverrides(overrides, config.limits, sampler); !s.ok()) {
    // "sampler.stochasticity: must be ..." names the config key; the field is params.<key>.
    std::string message(s.message());
    if (absl::StartsWith(message, "sampler.")) message = message.substr(8);
    return absl::InvalidArgumentError(absl::StrCat("params.", message));
  }
  const std::array<int64_t, 4> shape = {config.vae.latent_channels, 1 + (params.frames - 1) / 4,
                                        params.height / 8, params.width / 8};
  try {
    c10::InferenceMode inference;
    auto state = std::make_unique<Generation::State>();
    state->cond = impl_->network->text_encoder->Encode({params.prompt}, impl_->device);
    // Noise comes from a private CPU generator so a request's result depends only on its
    // seed, not on the device RNG state or on which batch it later joins.
    state->noise = at::detail::createCPUGenerator(params.seed);
    state->x = torch::randn({1, shape[0], shape[1], shape[2], shape[3]}, state->noise,
                            torch::TensorOptions().dtype(torch::kFloat))
                   .to(impl_->device);
    state->sampler = FlowSampler(FlowSamplerOptions{sampler.timestep_shift, sampler.guidance_min_t,
                                                    sampler.guidance_max_t, sampler.stochasticity});
    state->timesteps = state->sampler.Timesteps(params.steps);
    return std::unique_ptr<Generation>(new Generation(params, shape, std::move(state)));
  } catch (const std::exception& e) {
    return TorchErrorToStatus("StartGeneration", e);
  }
}

absl::Status VideoModel::DenoiseStep(absl::Span<Generation* const> batch) {
  if (batch.empty()) return absl::InvalidArgumentError("batch: empty");
  std::set<const Generation*> seen;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Generation* g = batch[i];
    const std::string field = absl::StrCat("batch[", i, "]");
    if (g == nullptr || g->state_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": null generation"));
    }
    if (!seen.insert(g).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": the same generation appears twice"));
    }
    if (g->finished()) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ": already finished (", g->steps_done(), " of ", g->params().steps, " steps)"));
    }
    if (g->latent_shape() != batch[0]->latent_shape()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": latent shape ", ShapeString(g->latent_shape()), " differs from batch[0] ",
          ShapeString(batch[0]->latent_shape()), "; a step batch must share one shape"));
    }
  }
  try {
    c10::InferenceMode inference;
    const int64_t b = static_cast<int64_t>(batch.size());
    std::vector<torch::Tensor> xs;
    std::vector<TextEmbedding> conds, unconds;
    std::vector<float> t_cur(b), t_next(b);
    std::vector<double> guidance(b), stochasticity(b);
    for (int64_t i = 0; i < b; ++i) {
      const Generation& g = *batch[i];
      xs.push_back(g.state_->x);
      conds.push_back(g.state_->cond);
      unconds.push_back(impl_->uncond);
      t_cur[i] = static_cast<float>(g.state_->timesteps[g.steps_done()]);
      t_next[i] = static_cast<float>(g.state_->timesteps[g.steps_done() + 1]);
      // From the double schedule, as FlowSampler::Sample does, so a step that starts
      // exactly on an interval bound is judged alike in both.
      guidance[i] = g.state_->sampler.GuidanceAt(g.state_->timesteps[g.steps_done()],
                                                 g.params().guidance);
      stochasticity[i] = g.state_->sampler.options().stochasticity;
    }
    auto x = torch::cat(xs, 0);
    auto t0 = torch::tensor(t_cur, torch::kFloat).to(impl_->device);
    auto t1 = torch::tensor(t_next, torch::kFloat).to(impl_->device);
    auto denoiser = impl_->network->denoiser;
    FlowSampler::VelocityFn velocity = [&denoiser](const torch::Tensor& xi, const torch::Tensor& ti,
                                                   const TextEmbedding& text) {
      return denoiser->forward(xi, ti, text);
    };
    auto v = FlowSampler::GuidedVelocity(velocity, x, t0, ConcatTextEmbeddings(conds),
                                         ConcatTextEmbeddings(unconds), guidance);
    // A stochastic request draws its step's fresh noise from a copy of its generator; the
    // copies replace the generators only when the step commits (below). Deterministic
    // requests in the same batch draw nothing (zeros stand in for their rows).
    torch::Tensor step_noise;
    std::vector<at::Generator> next_noise(b);
    if (std::any_of(stochasticity.begin(), stochasticity.end(), [](double e) { return e > 0; })) {
      std::vector<torch::Tensor> noises(b);
      for (int64_t i = 0; i < b; ++i) {
        const auto options = torch::TensorOptions().dtype(torch::kFloat);
        if (stochasticity[i] > 0) {
          next_noise[i] = batch[i]->state_->noise.clone();
          noises[i] = torch::randn(xs[i].sizes(), next_noise[i], options);
        } else {
          noises[i] = torch::zeros(xs[i].sizes(), options);
        }
      }
      step_noise = torch::cat(noises, 0).to(impl_->device);
    }
    auto x_next = FlowSampler::StepPerSample(x, v, t0, t1, stochasticity, step_noise);
    // A copy per request, so finished requests do not pin the whole batch's memory. All
    // copies are made before any state changes: if one throws (OOM), no generation has
    // advanced and the caller can retry the requests one by one.
    std::vector<torch::Tensor> next(b);
    for (int64_t i = 0; i < b; ++i) next[i] = x_next.narrow(0, i, 1).clone();
    for (int64_t i = 0; i < b; ++i) {
      batch[i]->state_->x = std::move(next[i]);
      if (next_noise[i].defined()) batch[i]->state_->noise = std::move(next_noise[i]);
      ++batch[i]->steps_done_;
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return TorchErrorToStatus("DenoiseStep", e);
  }
}

absl::StatusOr<Latent> VideoModel::FinalLatent(const Generation& generation) const {
  if (generation.state_ == nullptr) return absl::InvalidArgumentError("generation: empty state");
  if (!generation.finished()) {
    return absl::FailedPreconditionError(absl::StrCat("generation: not finished (",
                                                      generation.steps_done(), " of ",
                                                      generation.params().steps, " steps)"));
  }
  try {
    c10::InferenceMode inference;
    return TensorToLatent(impl_->latent_normalizer.Denormalize(generation.state_->x)[0]);
  } catch (const std::exception& e) {
    return TorchErrorToStatus("FinalLatent", e);
  }
}

void VideoModel::ResetPeakDeviceMemory() { vidserve::ResetPeakDeviceMemory(impl_->device); }

VideoModel::MemoryStats VideoModel::DeviceMemory() const {
  const DeviceMemoryBytes bytes = QueryDeviceMemory(impl_->device);
  MemoryStats stats;
  stats.allocated_bytes = bytes.allocated;
  stats.reserved_bytes = bytes.reserved;
  stats.peak_bytes = bytes.peak;
  stats.total_bytes = bytes.total;
  return stats;
}

}  // namespace vidserve

// vidserve-bench vae: full vs thin decoder through the VideoModel facade, in one run.
// Reports median encode/decode time per clip size and batch, parameter counts, and the peak
// memory of each decoder, measured from a reset peak: the CUDA allocator's peak on CUDA, the
// process's peak RSS on CPU (both include the weights and the input latent). On CUDA every
// size is measured twice in the same run, eager and through CUDA graphs (the server's
// default, model.cuda_graph_cache_size), by two VideoModel instances on the same GPU.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/video_model.h"
#include "tools/bench/bench_commands.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/bench_stats.h"

namespace vidserve::bench {
namespace {

struct ClipSize {
  int64_t frames, height, width;
};

VideoClip PatternClip(const ClipSize& size) {
  VideoClip clip;
  clip.frames = size.frames;
  clip.height = size.height;
  clip.width = size.width;
  clip.rgb.resize(clip.NumBytes());
  for (size_t i = 0; i < clip.rgb.size(); ++i) clip.rgb[i] = static_cast<uint8_t>((i * 131) % 251);
  return clip;
}

// One row: encode and both decoders for one clip size, batch and decode mode. False (and a
// message on stderr) on a model error.
bool MeasureSize(VideoModel& model, const ClipSize& size, int64_t batch, int64_t repeats,
                 const std::string& mode, nlohmann::json& report) {
  const bool on_cuda = model.info().device.rfind("cuda", 0) == 0;
  std::vector<VideoClip> clip_storage;
  for (int64_t b = 0; b < batch; ++b) clip_storage.push_back(PatternClip(size));
  std::vector<const VideoClip*> clips;
  for (const VideoClip& c : clip_storage) clips.push_back(&c);
  std::vector<double> encode_s, full_s, thin_s;
  auto latents = model.Encode(clips);  // warm-up
  if (!latents.ok()) {
    std::fprintf(stderr, "vidserve-bench vae: encode %ldx%ldx%ld: %s\n", size.frames, size.height,
                 size.width, latents.status().ToString().c_str());
    return false;
  }
  for (int64_t r = 0; r < repeats; ++r) {
    const double t0 = NowSeconds();
    latents = model.Encode(clips);
    encode_s.push_back(NowSeconds() - t0);
  }
  std::vector<const Latent*> latent_ptrs;
  for (const Latent& l : *latents) latent_ptrs.push_back(&l);
  double peak_mib[2] = {0, 0};
  for (DecoderKind kind : {DecoderKind::kThin, DecoderKind::kFull}) {
    auto& samples = kind == DecoderKind::kThin ? thin_s : full_s;
    // Warm-up: cuDNN autotuning, and with graphs the capture (two calls: capture, replay).
    for (int w = 0; w < 2; ++w) {
      if (!model.Decode(latent_ptrs, kind, 24.0).ok()) return false;
    }
    if (on_cuda) {
      model.ResetPeakDeviceMemory();
    } else {
      ResetPeakResidentBytes();
    }
    for (int64_t r = 0; r < repeats; ++r) {
      const double t0 = NowSeconds();
      auto video = model.Decode(latent_ptrs, kind, 24.0);
      samples.push_back(NowSeconds() - t0);
      if (!video.ok()) {
        std::fprintf(stderr, "vidserve-bench vae: decode: %s\n", video.status().ToString().c_str());
        return false;
      }
    }
    const int64_t peak = on_cuda ? model.DeviceMemory().peak_bytes : PeakResidentBytes();
    peak_mib[kind == DecoderKind::kThin ? 1 : 0] = peak / (1024.0 * 1024.0);
  }
  const double full_ms = Median(full_s) * 1e3, thin_ms = Median(thin_s) * 1e3;
  char label[64];
  std::snprintf(label, sizeof(label), "%ldx%ldx%ld", size.frames, size.height, size.width);
  std::printf("%-12s %5ld %-10s %12.2f %14.2f %14.2f %7.2fx %14.1f %14.1f\n", label, batch,
              mode.c_str(), Median(encode_s) * 1e3, full_ms, thin_ms, full_ms / thin_ms,
              peak_mib[0], peak_mib[1]);
  report["results"].push_back(
      {{"clip", label},
       {"batch", batch},
       {"decode_mode", mode},
       {"encode_ms", Median(encode_s) * 1e3},
       {"full_decode_ms", full_ms},
       {"thin_decode_ms", thin_ms},
       {"thin_speedup", full_ms / thin_ms},
       {"full_peak_mib", peak_mib[0]},
       {"thin_peak_mib", peak_mib[1]},
       {"peak_memory_kind", on_cuda ? "cuda_allocator_peak" : "process_peak_rss"}});
  return true;
}

}  // namespace

int RunVaeBench(int argc, char** argv) {
  BenchFlags flags;
  if (!flags.Parse(argc, argv)) return 2;
  const std::string preset = flags.String("preset", "tiny");
  const std::string checkpoint = flags.String("checkpoint", "");
  const std::string device = flags.String("device", "auto");
  const int64_t repeats = flags.Int("repeats", 5);
  const int64_t threads = flags.Int("threads", 0);
  const std::string sizes_text = flags.String("sizes", "17x64x64,65x256x256");
  const std::string batches_text = flags.String("batches", "1");
  const std::string json_path = flags.String("json", "");
  if (!flags.CheckAllUsed("vae")) return 2;

  std::vector<ClipSize> sizes;
  for (const std::string& item : SplitList(sizes_text)) {
    ClipSize size{};
    if (std::sscanf(item.c_str(), "%ldx%ldx%ld", &size.frames, &size.height, &size.width) != 3) {
      std::fprintf(stderr, "vidserve-bench vae: --sizes expects TxHxW[,TxHxW...], got \"%s\"\n",
                   sizes_text.c_str());
      return 2;
    }
    sizes.push_back(size);
  }
  const std::vector<int64_t> batches = ParseIntList(batches_text);
  if (batches.empty() || *std::min_element(batches.begin(), batches.end()) < 1 ||
      *std::max_element(batches.begin(), batches.end()) > 256) {
    std::fprintf(stderr, "vidserve-bench vae: --batches expects N[,N...] in [1, 256], got \"%s\"\n",
                 batches_text.c_str());
    return 2;
  }

  VideoModel::Options options;
  if (checkpoint.empty()) {
    auto config = LoadPreset(preset);
    if (!config.ok()) {
      std::fprintf(stderr, "vidserve-bench vae: %s\n", config.status().ToString().c_str());
      return 1;
    }
    options.config = *config;
  }
  options.checkpoint_path = checkpoint;
  options.device = device;
  options.num_threads = static_cast<int>(threads);
  options.cuda_graph_cache_size = 0;
  auto eager = VideoModel::Create(options);
  if (!eager.ok()) {
    std::fprintf(stderr, "vidserve-bench vae: %s\n", eager.status().ToString().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::unique_ptr<VideoModel>>> models;
  models.emplace_back("eager", std::move(*eager));
  const ModelInfo info = models[0].second->info();
  if (info.device.rfind("cuda", 0) == 0) {
    options.cuda_graph_cache_size = VideoModel::Options().cuda_graph_cache_size;
    auto graphs = VideoModel::Create(options);
    if (!graphs.ok()) {
      std::fprintf(stderr, "vidserve-bench vae: %s\n", graphs.status().ToString().c_str());
      return 1;
    }
    // Builds without CUDA graph support report eager decode; measure them once.
    if ((*graphs)->info().cuda_graph_decode) models.emplace_back("cuda_graph", std::move(*graphs));
  }
  const std::string model_label = checkpoint.empty() ? preset : checkpoint;
  nlohmann::json report = {{"command", "vae"},        {"date", UtcNow()},
                           {"device", info.device},   {"machine", DescribeCpuMachine()},
                           {"model", model_label},    {"preset", preset},
                           {"checkpoint", checkpoint}, {"torch", TorchVersion()},
                           {"repeats", repeats},      {"vae_parameters", info.vae_parameters},
                           {"thin_decoder_parameters", info.thin_decoder_parameters}};
  std::printf("vidserve-bench vae  model=%s device=%s torch=%s\n", model_label.c_str(),
              info.device.c_str(), TorchVersion().c_str());
  std::printf("params: VAE (encoder+full decoder) %ld, thin decoder %ld\n", info.vae_parameters,
              info.thin_decoder_parameters);
  std::printf("%-12s %5s %-10s %12s %14s %14s %8s %14s %14s\n", "clip", "batch", "decode",
              "encode_ms", "full_dec_ms", "thin_dec_ms", "speedup", "full_peak_MiB",
              "thin_peak_MiB");
  for (const ClipSize& size : sizes) {
    for (int64_t batch : batches) {
      for (auto& [mode, model] : models) {
        if (!MeasureSize(*model, size, batch, repeats, mode, report)) return 1;
      }
    }
  }
  if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
  return 0;
}

}  // namespace vidserve::bench

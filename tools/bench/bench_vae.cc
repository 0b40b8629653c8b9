// vidserve-bench vae: full vs thin decoder through the VideoModel facade, in one run.
// Reports median encode/decode time per clip size and batch, parameter counts, and the peak
// memory of each decoder, measured from a reset peak: the CUDA allocator's peak on CUDA, the
// process's peak RSS on CPU (both include the weights and the input latent). On CUDA every
// size is measured eager (float32) and through CUDA graphs (the server's default,
// model.cuda_graph_cache_size) in every combination of --precisions, --channels-last,
// --conv2d, --direct-conv, --fused-norm, --fold-upsampling and --fold-norms, one VideoModel
// instance per variant on the same GPU; on the CPU eager with and without the fused norm.
// Each variant's bytes are compared with the baseline's (PSNR, largest byte difference):
// eager float32 with LibTorch's convolutions and norms only (no direct kernel, no fused
// norm).
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "eval/video_quality.h"
#include "model/video_model.h"
#include "tools/bench/bench_commands.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/bench_quality_measure.h"
#include "tools/bench/bench_stats.h"

// NVTX ranges name each timed decode ("<variant>-<decoder>") so a kernel profiler can pick
// one out, e.g. ncu --nvtx --nvtx-include "eager-thin/" (CUDA builds with the header-only
// NVTX 3 of the CUDA toolkit; elsewhere the ranges compile to nothing).
#if defined(VIDSERVE_HAVE_CUDA) && __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define VIDSERVE_NVTX_PUSH(name) nvtxRangePushA(name)
#define VIDSERVE_NVTX_POP() nvtxRangePop()
constexpr bool kNvtxRanges = true;
#else
constexpr bool kNvtxRanges = false;
#define VIDSERVE_NVTX_PUSH(name) ((void)(name))
#define VIDSERVE_NVTX_POP() ((void)0)
#endif

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

// Each decoder's output for one batch of latents, as a reference for the other variants.
struct DecodedBatch {
  std::vector<VideoClip> full, thin;
};

// PSNR of `test` against `reference` over every clip's bytes (kPsnrCapDb when identical)
// and the largest byte difference: how far a decode variant moves the eager float32 bytes.
struct ByteAgreement {
  double psnr_db = eval::kPsnrCapDb;
  int max_abs_diff = 0;
};

ByteAgreement CompareBytes(const std::vector<VideoClip>& reference,
                           const std::vector<VideoClip>& test) {
  ByteAgreement agreement;
  double psnr_sum = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    absl::StatusOr<double> psnr = eval::Psnr(ToFrames(reference[i]), ToFrames(test[i]));
    psnr_sum += psnr.ok() ? *psnr : 0;
    for (size_t j = 0; j < reference[i].rgb.size(); ++j) {
      agreement.max_abs_diff = std::max(
          agreement.max_abs_diff, std::abs(int{reference[i].rgb[j]} - int{test[i].rgb[j]}));
    }
  }
  agreement.psnr_db = psnr_sum / reference.size();
  return agreement;
}

// A variant's name, from the decode settings the model reports in effect (a build without
// CUDA graphs decodes eagerly, channels-last or conv2d decoders never reach the direct
// kernel, and the label says so).
std::string VariantLabel(const ModelInfo& info) {
  std::string label = info.cuda_graph_decode ? "cuda_graph" : "eager";
  if (info.decode_precision != DecodePrecision::kFloat32) {
    absl::StrAppend(&label, "+", DecodePrecisionName(info.decode_precision));
  }
  if (info.decode_channels_last) absl::StrAppend(&label, "+channels_last");
  if (info.decode_conv2d) absl::StrAppend(&label, "+conv2d");
  // The direct kernel is the CUDA default; say when a CUDA run that could use it goes
  // without it (channels-last and conv2d decoders never do).
  const bool on_cuda = info.device.rfind("cuda", 0) == 0;
  if (on_cuda && !info.decode_direct_conv && !info.decode_conv2d && !info.decode_channels_last) {
    absl::StrAppend(&label, "+libtorch_conv");
  }
  if (info.decode_fold_upsampling) absl::StrAppend(&label, "+fold_upsampling");
  if (info.decode_fold_norms) absl::StrAppend(&label, "+fold_norms");
  if (!info.fused_norm) absl::StrAppend(&label, "+libtorch_norm");
  if (info.chunk_latent_voxels != kDefaultChunkLatentVoxels) {
    absl::StrAppend(&label, "+chunk", info.chunk_latent_voxels);
  }
  return label;
}

// One row: both decoders of one variant for one clip size and batch. The baseline variant
// (`is_reference`) fills `reference` with its own output instead of comparing with it.
// False (and a message on stderr) on a model error.
bool MeasureDecode(VideoModel& model, const std::vector<Latent>& latents, int64_t repeats,
                   double encode_ms, DecodedBatch& reference, bool is_reference,
                   nlohmann::json& report) {
  const bool on_cuda = model.info().device.rfind("cuda", 0) == 0;
  const std::string label = VariantLabel(model.info());
  std::vector<const Latent*> latent_ptrs;
  for (const Latent& l : latents) latent_ptrs.push_back(&l);
  std::vector<double> full_s, thin_s;
  double peak_mib[2] = {0, 0};
  double network_ms[2] = {0, 0}, output_ms[2] = {0, 0};  // [full, thin]
  ByteAgreement agreement[2];
  for (DecoderKind kind : {DecoderKind::kThin, DecoderKind::kFull}) {
    const int k = kind == DecoderKind::kThin ? 1 : 0;
    auto& samples = k == 1 ? thin_s : full_s;
    // Warm-up: cuDNN autotuning, and with graphs the capture (two calls: capture, replay).
    for (int w = 0; w < 2; ++w) {
      if (!model.Decode(latent_ptrs, kind, 24.0).ok()) return false;
    }
    if (on_cuda) {
      model.ResetPeakDeviceMemory();
    } else {
      ResetPeakResidentBytes();
    }
    absl::StatusOr<std::vector<VideoClip>> video;
    const std::string range = absl::StrCat(label, "-", DecoderKindName(kind));
    for (int64_t r = 0; r < repeats; ++r) {
      const double t0 = NowSeconds();
      VIDSERVE_NVTX_PUSH(range.c_str());
      video = model.Decode(latent_ptrs, kind, 24.0);
      VIDSERVE_NVTX_POP();
      samples.push_back(NowSeconds() - t0);
      if (!video.ok()) {
        std::fprintf(stderr, "vidserve-bench vae: decode: %s\n", video.status().ToString().c_str());
        return false;
      }
    }
    const int64_t peak = on_cuda ? model.DeviceMemory().peak_bytes : PeakResidentBytes();
    peak_mib[k] = peak / (1024.0 * 1024.0);
    // The same decodes again with their parts timed (a separate loop: measuring adds a
    // stream synchronization that the end-to-end times above should not carry).
    std::vector<double> network_s, output_s;
    for (int64_t r = 0; r < repeats; ++r) {
      VideoModel::DecodeTimings timings;
      if (!model.Decode(latent_ptrs, kind, 24.0, &timings).ok()) return false;
      network_s.push_back(timings.network_seconds);
      output_s.push_back(timings.output_seconds);
    }
    network_ms[k] = Median(network_s) * 1e3;
    output_ms[k] = Median(output_s) * 1e3;
    std::vector<VideoClip>& ref = k == 1 ? reference.thin : reference.full;
    if (is_reference) {
      ref = std::move(*video);  // agrees with itself: the default ByteAgreement
    } else {
      agreement[k] = CompareBytes(ref, *video);
    }
  }
  const double full_ms = Median(full_s) * 1e3, thin_ms = Median(thin_s) * 1e3;
  const std::array<int64_t, 3> decoded = latents[0].DecodedShape();
  const std::string clip = absl::StrCat(decoded[0], "x", decoded[1], "x", decoded[2]);
  std::printf(
      "%-12s %5zu %-36s %10.2f %12.2f %12.2f %7.2fx %10.2f %10.2f %7.2fx %8.2f %8.1f %8.1f %5d "
      "%5d %10.1f %10.1f\n",
      clip.c_str(), latents.size(), label.c_str(), encode_ms, full_ms, thin_ms, full_ms / thin_ms,
      network_ms[0], network_ms[1], network_ms[0] / network_ms[1], output_ms[1],
      agreement[0].psnr_db, agreement[1].psnr_db, agreement[0].max_abs_diff,
      agreement[1].max_abs_diff, peak_mib[0], peak_mib[1]);
  report["results"].push_back(
      {{"clip", clip},
       {"batch", latents.size()},
       {"decode_mode", label},
       {"decode_precision", DecodePrecisionName(model.info().decode_precision)},
       {"decode_channels_last", model.info().decode_channels_last},
       {"decode_conv2d", model.info().decode_conv2d},
       {"decode_direct_conv", model.info().decode_direct_conv},
       {"decode_fold_upsampling", model.info().decode_fold_upsampling},
       {"decode_fold_norms", model.info().decode_fold_norms},
       {"fused_norm", model.info().fused_norm},
       {"chunk_latent_voxels", model.info().chunk_latent_voxels},
       {"cuda_graph_decode", model.info().cuda_graph_decode},
       {"encode_ms", encode_ms},
       {"full_decode_ms", full_ms},
       {"thin_decode_ms", thin_ms},
       {"thin_speedup", full_ms / thin_ms},
       {"full_network_ms", network_ms[0]},
       {"thin_network_ms", network_ms[1]},
       {"thin_network_speedup", network_ms[0] / network_ms[1]},
       {"full_output_copy_ms", output_ms[0]},
       {"thin_output_copy_ms", output_ms[1]},
       {"full_psnr_vs_eager_float32_db", agreement[0].psnr_db},
       {"thin_psnr_vs_eager_float32_db", agreement[1].psnr_db},
       {"full_max_abs_byte_diff", agreement[0].max_abs_diff},
       {"thin_max_abs_byte_diff", agreement[1].max_abs_diff},
       {"full_peak_mib", peak_mib[0]},
       {"thin_peak_mib", peak_mib[1]},
       {"peak_memory_kind", on_cuda ? "cuda_allocator_peak" : "process_peak_rss"}});
  return true;
}

// Encode timing (median of `repeats` after a warm-up) and the latents it gives.
absl::StatusOr<std::vector<Latent>> EncodeBatch(VideoModel& model, const ClipSize& size,
                                                int64_t batch, int64_t repeats,
                                                double& encode_ms) {
  std::vector<VideoClip> clip_storage;
  for (int64_t b = 0; b < batch; ++b) clip_storage.push_back(PatternClip(size));
  std::vector<const VideoClip*> clips;
  for (const VideoClip& c : clip_storage) clips.push_back(&c);
  auto latents = model.Encode(clips);  // warm-up
  std::vector<double> encode_s;
  for (int64_t r = 0; latents.ok() && r < repeats; ++r) {
    const double t0 = NowSeconds();
    latents = model.Encode(clips);
    encode_s.push_back(NowSeconds() - t0);
  }
  encode_ms = Median(encode_s) * 1e3;
  return latents;
}

// One clip size and batch: its latents (encoded once, by the baseline) and the baseline's
// decoded bytes, which every other variant is compared with.
struct BenchCase {
  ClipSize size{};
  double encode_ms = 0;
  std::vector<Latent> latents;
  DecodedBatch reference;
};

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
  const std::string precisions_text = flags.String("precisions", "float32");
  const std::string channels_last_text = flags.String("channels-last", "0");
  const std::string conv2d_text = flags.String("conv2d", "0");
  const std::string direct_conv_text = flags.String("direct-conv", "1");
  const std::string fold_upsampling_text = flags.String("fold-upsampling", "0");
  const std::string fold_norms_text = flags.String("fold-norms", "0");
  // The VAE norms with their SiLU in one pass (1) or as LibTorch's ops (0); every device.
  const std::string fused_norm_text = flags.String("fused-norm", "1");
  // Time-chunk budgets of Encode/Decode in latent voxels (0 = the model's default); on CPU
  // only the first applies.
  const std::string chunk_voxels_text = flags.String("chunk-voxels", "0");
  // -1: the model's default (VideoModel::Options::decode_page_locked_max_bytes).
  const int64_t page_locked_max_mib = flags.Int("page-locked-max-mib", -1);
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
  std::vector<DecodePrecision> precisions;
  for (const std::string& name : SplitList(precisions_text)) {
    std::optional<DecodePrecision> p = ParseDecodePrecision(name);
    if (!p) {
      std::fprintf(stderr,
                   "vidserve-bench vae: --precisions expects float32|float16|bfloat16[,...], "
                   "got \"%s\"\n",
                   precisions_text.c_str());
      return 2;
    }
    precisions.push_back(*p);
  }
  const std::vector<int64_t> channels_last = ParseIntList(channels_last_text);
  const std::vector<int64_t> conv2d = ParseIntList(conv2d_text);
  const std::vector<int64_t> direct_conv = ParseIntList(direct_conv_text);
  const std::vector<int64_t> fold_upsampling = ParseIntList(fold_upsampling_text);
  const std::vector<int64_t> fold_norms = ParseIntList(fold_norms_text);
  const std::vector<int64_t> fused_norm = ParseIntList(fused_norm_text);
  const std::vector<int64_t> chunk_voxels = ParseIntList(chunk_voxels_text);
  if (chunk_voxels.empty() || *std::min_element(chunk_voxels.begin(), chunk_voxels.end()) < 0) {
    std::fprintf(stderr, "vidserve-bench vae: --chunk-voxels expects N[,N...] >= 0, got \"%s\"\n",
                 chunk_voxels_text.c_str());
    return 2;
  }
  for (const auto& [flag, values] :
       {std::pair{"channels-last", channels_last}, std::pair{"conv2d", conv2d},
        std::pair{"direct-conv", direct_conv}, std::pair{"fused-norm", fused_norm},
        std::pair{"fold-upsampling", fold_upsampling}, std::pair{"fold-norms", fold_norms}}) {
    if (values.empty() || *std::min_element(values.begin(), values.end()) < 0 ||
        *std::max_element(values.begin(), values.end()) > 1) {
      std::fprintf(stderr, "vidserve-bench vae: --%s expects 0 and/or 1 (e.g. 0,1)\n", flag);
      return 2;
    }
  }

  if (page_locked_max_mib < -1) {
    std::fprintf(stderr, "vidserve-bench vae: --page-locked-max-mib expects >= 0 (or -1 for "
                         "the default), got %ld\n", page_locked_max_mib);
    return 2;
  }
  VideoModel::Options options;
  if (page_locked_max_mib >= 0) options.decode_page_locked_max_bytes = page_locked_max_mib << 20;
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
  options.chunk_latent_voxels = chunk_voxels[0];
  auto create = [](const VideoModel::Options& o) -> std::unique_ptr<VideoModel> {
    auto model = VideoModel::Create(o);
    if (!model.ok()) {
      std::fprintf(stderr, "vidserve-bench vae: %s\n", model.status().ToString().c_str());
      return nullptr;
    }
    return std::move(*model);
  };
  // The baseline: eager float32 with LibTorch's convolutions and norms, whose bytes every
  // other variant is compared with.
  VideoModel::Options baseline_options = options;
  baseline_options.decode_direct_conv = false;
  baseline_options.fused_norm = false;
  std::unique_ptr<VideoModel> baseline = create(baseline_options);
  if (baseline == nullptr) return 1;
  const ModelInfo info = baseline->info();
  const bool on_cuda = info.device.rfind("cuda", 0) == 0;
  // Every combination through CUDA graphs (the server's default decode mode). One model at
  // a time: each keeps its graphs, and graphs of large clips hold gigabytes.
  std::vector<VideoModel::Options> variants;
  if (on_cuda) {
    for (DecodePrecision precision : precisions) {
      for (int64_t cl : channels_last) {
        for (int64_t c2d : conv2d) {
          for (int64_t direct : direct_conv) {
            // The direct kernel takes NCDHW conv3d only: without it, such a variant is the
            // same run as with it.
            if ((c2d == 1 || cl == 1) && direct == 0 && direct_conv.size() > 1) continue;
            VideoModel::Options v = options;
            v.cuda_graph_cache_size = VideoModel::Options().cuda_graph_cache_size;
            v.decode_precision = precision;
            v.decode_channels_last = cl == 1;
            v.decode_conv2d = c2d == 1;
            v.decode_direct_conv = direct == 1;
            // Whether the direct kernel runs at all (the folds below live in it).
            const bool direct_kernel = direct == 1 && c2d == 0 && cl == 0;
            for (int64_t fused : fused_norm) {
              v.fused_norm = fused == 1;
              for (int64_t chunk : chunk_voxels) {
                v.chunk_latent_voxels = chunk;
                for (int64_t fold : fold_upsampling) {
                  // Folding needs the direct kernel: without it, the same run as unfolded.
                  if (fold == 1 && !direct_kernel && fold_upsampling.size() > 1) continue;
                  v.decode_fold_upsampling = fold == 1;
                  for (int64_t fold_norm : fold_norms) {
                    // Folding norms needs the direct kernel and the fused norm.
                    if (fold_norm == 1 && (!direct_kernel || fused == 0) &&
                        fold_norms.size() > 1) {
                      continue;
                    }
                    v.decode_fold_norms = fold_norm == 1;
                    variants.push_back(v);
                  }
                }
              }
            }
          }
        }
      }
    }
  } else {
    // The CPU measures eager float32: the baseline (LibTorch's norms), then the fused norm.
    if (std::find(fused_norm.begin(), fused_norm.end(), 1) != fused_norm.end()) {
      VideoModel::Options v = options;
      v.fused_norm = true;
      variants.push_back(v);
    }
    if (precisions_text != "float32" || channels_last_text != "0" || conv2d_text != "0" ||
        direct_conv_text != "1" || fold_upsampling_text != "0" || fold_norms_text != "0") {
      std::fprintf(stderr, "vidserve-bench vae: --precisions, --channels-last, --conv2d, "
                           "--direct-conv, --fold-upsampling and --fold-norms apply on CUDA "
                           "only; measuring float32 eager\n");
    }
  }
  const std::string model_label = checkpoint.empty() ? preset : checkpoint;
  nlohmann::json report = {{"command", "vae"},        {"date", UtcNow()},
                           {"device", info.device},   {"machine", DescribeCpuMachine()},
                           {"model", model_label},    {"preset", preset},
                           {"checkpoint", checkpoint}, {"torch", TorchVersion()},
                           {"repeats", repeats},      {"vae_parameters", info.vae_parameters},
                           {"thin_decoder_parameters", info.thin_decoder_parameters},
                           {"decode_page_locked_max_bytes", options.decode_page_locked_max_bytes}};
  std::printf("vidserve-bench vae  model=%s device=%s torch=%s page_locked_max=%ld MiB\n",
              model_label.c_str(), info.device.c_str(), TorchVersion().c_str(),
              options.decode_page_locked_max_bytes >> 20);
  std::printf("params: VAE (encoder+full decoder) %ld, thin decoder %ld\n", info.vae_parameters,
              info.thin_decoder_parameters);
  std::printf("PSNR / max diff: each decoder's bytes against the eager float32 bytes%s\n",
              kNvtxRanges ? "; NVTX ranges <decode>-<full|thin> around each timed decode" : "");
  report["nvtx_ranges"] = kNvtxRanges;
  std::printf("*_dec_ms: a whole Decode call; *_net_ms: its decoder network and rounding to bytes "
              "alone (device time); copy_ms: the thin decode's bytes into the clips\n");
  std::printf("%-12s %5s %-36s %10s %12s %12s %8s %10s %10s %8s %8s %8s %8s %5s %5s %10s %10s\n",
              "clip", "batch", "decode", "encode_ms", "full_dec_ms", "thin_dec_ms", "speedup",
              "full_net_ms", "thin_net_ms", "net_x", "copy_ms", "full_dB", "thin_dB", "fdiff",
              "tdiff", "full_MiB", "thin_MiB");
  std::vector<BenchCase> cases;
  for (const ClipSize& size : sizes) {
    for (int64_t batch : batches) {
      BenchCase c;
      c.size = size;
      absl::StatusOr<std::vector<Latent>> latents =
          EncodeBatch(*baseline, size, batch, repeats, c.encode_ms);
      if (!latents.ok()) {
        std::fprintf(stderr, "vidserve-bench vae: encode %ldx%ldx%ld: %s\n", size.frames,
                     size.height, size.width, latents.status().ToString().c_str());
        return 1;
      }
      c.latents = std::move(*latents);
      if (!MeasureDecode(*baseline, c.latents, repeats, c.encode_ms, c.reference,
                         /*is_reference=*/true, report)) {
        return 1;
      }
      cases.push_back(std::move(c));
    }
  }
  baseline.reset();
  for (const VideoModel::Options& v : variants) {
    std::unique_ptr<VideoModel> model = create(v);
    if (model == nullptr) return 1;
    for (BenchCase& c : cases) {
      // Each variant's own Encode time (its norms are the encoder's too); the decoders
      // still take the baseline's latents, so that bytes compare.
      double encode_ms = 0;
      absl::StatusOr<std::vector<Latent>> encoded =
          EncodeBatch(*model, c.size, static_cast<int64_t>(c.latents.size()), repeats, encode_ms);
      if (!encoded.ok()) {
        std::fprintf(stderr, "vidserve-bench vae: encode: %s\n",
                     encoded.status().ToString().c_str());
        return 1;
      }
      if (!MeasureDecode(*model, c.latents, repeats, encode_ms, c.reference,
                         /*is_reference=*/false, report)) {
        return 1;
      }
    }
  }
  if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
  return 0;
}

}  // namespace vidserve::bench

// vidserve-bench quality: how good a model is, in one run, on data no training stage saw
// (the synthetic generator's held-out seeds, data::HeldOutSeeds). Per checkpoint:
//   - VAE reconstruction: every held-out clip encoded and decoded by the full and by the
//     thin decoder, PSNR and SSIM (eval/video_quality.h) against the render, overall and
//     per background texture (per-pixel noise cannot pass the 8x spatial compression, so
//     it gets its own row), plus both decoders' wall time on one batch of latents in the
//     same run (warm-up, then the median of interleaved repeats; on CUDA, Decode's
//     device-to-host copy synchronises);
//   - prompt following: the caption of each held-out seed generated (batched through
//     DenoiseStep), decoded with the decoder the server's Generate uses when a request
//     names none (read from server/request_validation, not assumed), and judged by
//     data::DetectClip + data::Score against the caption's attributes; colour, shape and
//     motion accuracy and the clips' temporal consistency, beside the same numbers for
//     the ground-truth renders of the same captions (the detector's ceiling); the JSON adds
//     shape and motion confusion counts (named value -> detected) for generated clips,
//     ground truth and VAE reconstructions;
//   - identity: checkpoint, trained flag, token mixers, parameter counts.
// Several --checkpoint flags are scored alike and compared in one table. --contact-sheet
// writes generated samples of the first checkpoint as a PNG grid (rows = prompts, printed
// in order; columns = frames). Without --checkpoint the random weights of --preset run,
// which checks the pipeline, not a model.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "eval/contact_sheet.h"
#include "model/video_model.h"
#include "tools/bench/bench_commands.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/bench_quality_measure.h"
#include "tools/bench/bench_quality_report.h"
#include "tools/bench/bench_stats.h"

namespace vidserve::bench {
namespace {

constexpr const char* kUsage =
    "usage: vidserve-bench quality [--checkpoint PATH ...] [--preset tiny] [--device "
    "auto|cpu|cuda]\n"
    "         [--threads 0] [--vae-clips 64] [--prompts 64] [--first-held-out 0] [--steps 20]\n"
    "         [--guidance G] [--guidance-interval MIN_T,MAX_T] [--stochasticity E]\n"
    "         [--timestep-shift S]\n"
    "         [--seed 0] [--frames 17] [--height 64] [--width 64] [--decoder full|thin]\n"
    "         [--generation-batch 16] [--vae-batch 8] [--timing-batch 8] [--timing-repeats 5]\n"
    "         [--json FILE] [--contact-sheet FILE.png] [--sheet-prompts 8]\n"
    "         [--sheet-frames 0,4,8,12,16] [--decode-precision float32|float16|bfloat16]\n"
    "         [--dump-clips DIR]\n";

// Parses flags into `settings`; false (after printing why) on anything malformed.
bool ParseSettings(int argc, char** argv, QualitySettings& settings) {
  BenchFlags flags;
  if (!flags.Parse(argc, argv)) return false;
  settings.checkpoints = flags.Strings("checkpoint");
  settings.preset = flags.String("preset", settings.preset);
  settings.device = flags.String("device", settings.device);
  settings.threads = static_cast<int>(flags.Int("threads", settings.threads));
  settings.vae_clips = static_cast<int>(flags.Int("vae-clips", settings.vae_clips));
  settings.prompts = static_cast<int>(flags.Int("prompts", settings.prompts));
  settings.first_held_out = static_cast<int>(flags.Int("first-held-out", settings.first_held_out));
  settings.steps = static_cast<int>(flags.Int("steps", settings.steps));
  if (flags.Has("guidance")) settings.guidance = flags.Double("guidance", 0);
  const std::string guidance_interval = flags.String("guidance-interval", "");
  if (flags.Has("stochasticity")) settings.sampler.stochasticity = flags.Double("stochasticity", 0);
  if (flags.Has("timestep-shift")) {
    settings.sampler.timestep_shift = flags.Double("timestep-shift", 0);
  }
  settings.seed = static_cast<uint64_t>(flags.Int("seed", 0));
  settings.frames = static_cast<int>(flags.Int("frames", settings.frames));
  settings.height = static_cast<int>(flags.Int("height", settings.height));
  settings.width = static_cast<int>(flags.Int("width", settings.width));
  const std::string decoder = flags.String("decoder", "");
  settings.generation_batch =
      static_cast<int>(flags.Int("generation-batch", settings.generation_batch));
  settings.vae_batch = static_cast<int>(flags.Int("vae-batch", settings.vae_batch));
  settings.timing_batch = static_cast<int>(flags.Int("timing-batch", settings.timing_batch));
  settings.timing_repeats = static_cast<int>(flags.Int("timing-repeats", settings.timing_repeats));
  settings.json_path = flags.String("json", "");
  settings.sheet_path = flags.String("contact-sheet", "");
  settings.dump_dir = flags.String("dump-clips", "");
  settings.sheet_prompts = static_cast<int>(flags.Int("sheet-prompts", settings.sheet_prompts));
  const std::string sheet_frames = flags.String("sheet-frames", "");
  const std::string precision = flags.String("decode-precision", "float32");
  if (!flags.CheckAllUsed("quality")) return false;

  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "vidserve-bench quality: %s\n%s", message.c_str(), kUsage);
    return false;
  };
  for (const std::string& path : settings.checkpoints) {
    if (path.empty() || path == "true") return fail("--checkpoint needs a path");
    // Checked before any work: a typo in the last of several checkpoints would otherwise
    // surface only after the others had run for an hour.
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
      return fail(absl::StrCat("--checkpoint ", path, ": no such file or directory"));
    }
  }
  const std::pair<const char*, int> positive[] = {{"vae-clips", settings.vae_clips},
                                                  {"prompts", settings.prompts},
                                                  {"steps", settings.steps},
                                                  {"generation-batch", settings.generation_batch},
                                                  {"vae-batch", settings.vae_batch},
                                                  {"timing-batch", settings.timing_batch},
                                                  {"timing-repeats", settings.timing_repeats}};
  for (const auto& [name, value] : positive) {
    if (value < 1) return fail(absl::StrCat("--", name, " must be >= 1, got ", value));
  }
  if (!settings.dump_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(settings.dump_dir, error);
    if (error) return fail(absl::StrCat("--dump-clips ", settings.dump_dir, ": ", error.message()));
  }
  // Output paths are checked before any work, like the checkpoints.
  for (const std::string& path : {settings.json_path, settings.sheet_path}) {
    if (path.empty()) continue;
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!parent.empty() && !std::filesystem::is_directory(parent, error)) {
      return fail(absl::StrCat(path, ": directory ", parent.string(), " does not exist"));
    }
  }
  if (!settings.sheet_path.empty() && !eval::CanWriteContactSheetPng()) {
    return fail("--contact-sheet needs PNG support, and this build has no libav");
  }
  if (settings.sheet_prompts < 0) {
    return fail(absl::StrCat("--sheet-prompts must be >= 0, got ", settings.sheet_prompts));
  }
  if (settings.first_held_out < 0 || settings.first_held_out > 1000000) {
    return fail(
        absl::StrCat("--first-held-out must be in [0, 1000000], got ", settings.first_held_out));
  }
  if (settings.guidance.has_value() && !(*settings.guidance >= 0)) {
    return fail(absl::StrCat("--guidance must be >= 0, got ", *settings.guidance));
  }
  if (settings.threads < 0) {
    return fail(absl::StrCat("--threads must be >= 0, got ", settings.threads));
  }
  if (settings.frames < 1 || (settings.frames - 1) % 4 != 0) {
    return fail(absl::StrCat("--frames must be 4k+1 (the VAE's temporal compression), got ",
                             settings.frames));
  }
  if (settings.height < 16 || settings.height % 16 != 0 || settings.width < 16 ||
      settings.width % 16 != 0) {
    return fail(absl::StrCat("--height and --width must be positive multiples of 16, got ",
                             settings.height, "x", settings.width));
  }
  const std::optional<DecodePrecision> parsed_precision = ParseDecodePrecision(precision);
  if (!parsed_precision) {
    return fail(absl::StrCat("--decode-precision must be float32, float16 or bfloat16, got \"",
                             precision, "\""));
  }
  settings.decode_precision = *parsed_precision;
  if (!guidance_interval.empty()) {
    const std::vector<std::string> bounds = SplitList(guidance_interval);
    double lo = 0, hi = 0;
    if (bounds.size() != 2 || !absl::SimpleAtod(bounds[0], &lo) ||
        !absl::SimpleAtod(bounds[1], &hi)) {
      return fail(absl::StrCat("--guidance-interval must be MIN_T,MAX_T (e.g. 0.3,1), got \"",
                               guidance_interval, "\""));
    }
    settings.sampler.guidance_min_t = lo;
    settings.sampler.guidance_max_t = hi;
  }
  // Range errors name the config key (sampler.guidance_min_t ...): checked here, before
  // any work, and again against each checkpoint's settings on load.
  if (absl::Status s = CheckSamplerOverrides(settings.sampler); !s.ok()) {
    return fail(std::string(s.message()));
  }
  if (decoder == "full") {
    settings.decoder = DecoderKind::kFull;
  } else if (decoder == "thin") {
    settings.decoder = DecoderKind::kThin;
  } else if (!decoder.empty()) {
    return fail(absl::StrCat("--decoder must be full or thin, got \"", decoder, "\""));
  }
  if (sheet_frames.empty()) {
    // Five columns from the first frame to the last: 0,4,8,12,16 for 17 frames.
    for (int i = 0; i < 5; ++i) {
      const int frame = static_cast<int>(std::lround(i * (settings.frames - 1) / 4.0));
      if (settings.sheet_frames.empty() || settings.sheet_frames.back() != frame) {
        settings.sheet_frames.push_back(frame);
      }
    }
  } else {
    for (int64_t frame : ParseIntList(sheet_frames)) {
      settings.sheet_frames.push_back(static_cast<int>(frame));
    }
    if (settings.sheet_frames.empty()) {
      return fail(
          absl::StrCat("--sheet-frames expects a list like 0,4,8, got \"", sheet_frames, "\""));
    }
    for (int frame : settings.sheet_frames) {
      if (frame < 0 || frame >= settings.frames) {
        return fail(absl::StrCat("--sheet-frames: frame ", frame, " is outside [0, ",
                                 settings.frames, ")"));
      }
    }
  }
  return true;
}

}  // namespace

int RunQualityBench(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  QualitySettings settings;
  if (!ParseSettings(argc, argv, settings)) return 2;
  const bool random_weights = settings.checkpoints.empty();
  if (random_weights) settings.checkpoints.push_back("");
  const bool want_sheet = !settings.sheet_path.empty() && settings.sheet_prompts > 0;

  absl::StatusOr<DecoderKind> server_decoder = ServerDefaultGenerateDecoder();
  if (!server_decoder.ok()) {
    std::fprintf(stderr, "vidserve-bench quality: %s\n",
                 server_decoder.status().ToString().c_str());
    return 1;
  }
  const DecoderKind decoder = settings.decoder.value_or(*server_decoder);
  const std::string decoder_source =
      settings.decoder.has_value()
          ? "--decoder"
          : "the server's default for Generate requests that name no decoder";

  // Held-out data, shared by every checkpoint: renders, captions, and the detector's scores
  // and the consistency of the ground truth for the prompts.
  const int generated_prompts =
      want_sheet ? std::max(settings.prompts, settings.sheet_prompts) : settings.prompts;
  const std::vector<HeldOutClip> held_out =
      RenderHeldOutClips(settings, std::max(settings.vae_clips, generated_prompts));
  absl::StatusOr<eval::PromptFollowingTally> ground_truth_or =
      ScoreGroundTruth(held_out, settings.prompts);
  if (!ground_truth_or.ok()) {
    std::fprintf(stderr, "vidserve-bench quality: ground truth: %s\n",
                 ground_truth_or.status().ToString().c_str());
    return 1;
  }
  const eval::PromptFollowingTally& ground_truth = *ground_truth_or;

  std::string command_line = "vidserve-bench";
  for (int i = 0; i < argc; ++i) absl::StrAppend(&command_line, " ", argv[i]);
  nlohmann::json report = {
      {"command", "quality"},
      {"command_line", command_line},
      {"date", UtcNow()},
      {"device_requested", settings.device},
      {"machine", DescribeCpuMachine()},
      {"torch", TorchVersion()},
      {"settings",
       {{"clip",
         {{"frames", settings.frames}, {"height", settings.height}, {"width", settings.width}}},
        {"vae_clips", settings.vae_clips},
        {"prompts", settings.prompts},
        {"steps", settings.steps},
        {"guidance", settings.guidance.has_value() ? nlohmann::json(*settings.guidance)
                                                   : nlohmann::json("model default")},
        {"seed", settings.seed},
        {"generation_seed", "splitmix64((seed << 32) + prompt index)"},
        {"prompt_decoder", DecoderKindName(decoder)},
        {"prompt_decoder_source", decoder_source},
        {"generation_batch", settings.generation_batch},
        {"vae_batch", settings.vae_batch},
        {"timing_batch", settings.timing_batch},
        {"timing_repeats", settings.timing_repeats},
        {"first_held_out", settings.first_held_out},
        {"held_out_seeds", "data::HeldOutSeeds, N of them after the first first_held_out"}}},
      {"ground_truth", TallyJson(ground_truth)},
      {"checkpoints", nlohmann::json::array()}};

  std::printf("vidserve-bench quality  device=%s torch=%s  held-out clips %dx%dx%d\n",
              settings.device.c_str(), TorchVersion().c_str(), settings.frames, settings.height,
              settings.width);
  std::printf("generated clips decoded with the %s decoder (%s)\n", DecoderKindName(decoder),
              decoder_source.c_str());
  std::printf(
      "ground truth, %d held-out captions: detector colour %s  shape %s  motion %s; temporal "
      "consistency %.4f\n",
      settings.prompts, PercentText(ground_truth.colour()).c_str(),
      PercentText(ground_truth.shape()).c_str(), PercentText(ground_truth.motion()).c_str(),
      ground_truth.MeanConsistency().score);
  std::fflush(stdout);  // progress goes to stderr; keep the two in order

  const std::string dump_root = settings.dump_dir;
  if (!dump_root.empty()) {
    for (int i = 0; i < std::max(settings.vae_clips, settings.prompts); ++i) {
      absl::Status dumped = DumpClip(dump_root, "truth", i, held_out[i].video);
      std::ofstream caption(absl::StrFormat("%s/truth-%04d.txt", dump_root, i));
      caption << held_out[i].caption << "\n";
      if (!dumped.ok() || !caption) {
        std::fprintf(stderr, "vidserve-bench quality: --dump-clips: %s\n",
                     dumped.ok() ? "cannot write a caption" : dumped.ToString().c_str());
        return 1;
      }
    }
  }
  std::vector<CheckpointResult> results;
  for (size_t c = 0; c < settings.checkpoints.size(); ++c) {
    if (!dump_root.empty()) {
      settings.dump_dir = absl::StrCat(dump_root, "/ckpt", c + 1);
      std::error_code error;
      std::filesystem::create_directories(settings.dump_dir, error);
    }
    const std::string& path = settings.checkpoints[c];
    VideoModel::Options options;
    options.checkpoint_path = path;
    options.device = settings.device;
    options.num_threads = settings.threads;
    options.decode_precision = settings.decode_precision;  // CUDA only
    options.sampler = settings.sampler;
    if (path.empty()) {
      absl::StatusOr<ModelConfig> config = LoadPreset(settings.preset);
      if (!config.ok()) {
        std::fprintf(stderr, "vidserve-bench quality: --preset %s: %s\n", settings.preset.c_str(),
                     config.status().ToString().c_str());
        return 1;
      }
      options.config = *config;
    }
    absl::StatusOr<std::unique_ptr<VideoModel>> model = VideoModel::Create(options);
    if (!model.ok()) {
      std::fprintf(stderr, "vidserve-bench quality: cannot load %s: %s\n",
                   path.empty() ? ("preset " + settings.preset).c_str() : path.c_str(),
                   model.status().ToString().c_str());
      return 1;
    }
    CheckpointResult result;
    result.info = (*model)->info();
    result.label = path.empty() ? "random weights, preset " + settings.preset : path;
    result.guidance = settings.guidance.value_or(result.info.config.sampler.default_guidance);
    std::printf("\n[%zu/%zu] %s  (device %s)\n", c + 1, settings.checkpoints.size(),
                result.label.c_str(), result.info.device.c_str());
    std::vector<Latent> timing_latents;
    absl::Status status =
        MeasureReconstruction(**model, settings, held_out, result, timing_latents);
    if (status.ok()) status = MeasureDecodeTiming(**model, settings, timing_latents, result.timing);
    if (status.ok()) {
      const bool sheet_here = want_sheet && c == 0;
      status = MeasurePromptFollowing(**model, settings, decoder, held_out,
                                      sheet_here ? generated_prompts : settings.prompts,
                                      sheet_here ? settings.sheet_prompts : 0, result);
    }
    if (!status.ok()) {
      std::fprintf(stderr, "vidserve-bench quality: %s: %s\n", result.label.c_str(),
                   status.ToString().c_str());
      return 1;
    }
    PrintCheckpoint(result, settings, decoder, ground_truth);
    std::fflush(stdout);
    report["checkpoints"].push_back(CheckpointJson(result, settings, decoder, held_out));
    results.push_back(std::move(result));
  }
  PrintComparison(results);
  for (size_t i = 1; i < results.size(); ++i) {
    report["paired_vs_first"].push_back(
        {{"checkpoint", results[i].label}, {"vs", results[0].label},
         {"attributes", PairedJson(results[0], results[i])}});
  }

  // A sheet that cannot be written still leaves the measured results in the JSON.
  int exit_code = 0;
  if (want_sheet) {
    eval::ContactSheetOptions options;
    options.frame_indices = settings.sheet_frames;
    absl::StatusOr<media::VideoFrames> sheet =
        eval::ComposeContactSheet(results.front().sheet_clips, options);
    absl::Status written =
        sheet.ok() ? eval::WriteContactSheetPng(settings.sheet_path, *sheet) : sheet.status();
    if (written.ok()) {
      nlohmann::json rows = nlohmann::json::array();
      std::printf("\ncontact sheet %s (%dx%d): %s, columns = frames %s, rows:\n",
                  settings.sheet_path.c_str(), sheet->width, sheet->height,
                  results.front().label.c_str(), absl::StrJoin(settings.sheet_frames, ",").c_str());
      for (int i = 0; i < settings.sheet_prompts; ++i) {
        std::printf("  %d. %s\n", i + 1, held_out[i].caption.c_str());
        rows.push_back({{"prompt", held_out[i].caption},
                        {"held_out_seed", held_out[i].seed},
                        {"generation_seed", GenerationSeed(settings.seed, i)}});
      }
      report["contact_sheet"] = {{"path", settings.sheet_path},
                                 {"checkpoint", results.front().label},
                                 {"decoder", DecoderKindName(decoder)},
                                 {"frames", settings.sheet_frames},
                                 {"gap_px", options.gap_px},
                                 {"width", sheet->width},
                                 {"height", sheet->height},
                                 {"rows", rows}};
    } else {
      std::fprintf(stderr, "vidserve-bench quality: contact sheet: %s\n",
                   written.ToString().c_str());
      report["contact_sheet"] = {{"path", settings.sheet_path}, {"error", written.ToString()}};
      exit_code = 1;
    }
  }
  if (!settings.json_path.empty()) {
    std::ofstream out(settings.json_path);
    out << report.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "vidserve-bench quality: cannot write %s\n", settings.json_path.c_str());
      return 1;
    }
  }
  return exit_code;
}

}  // namespace vidserve::bench

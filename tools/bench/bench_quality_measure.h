// The measurements of `vidserve-bench quality` on one model (bench_quality.cc runs them per
// checkpoint): VAE reconstruction of held-out clips with both decoders, the decoders' wall
// time, and prompt following of generated clips. Held-out data comes from the synthetic
// generator's held-out seeds (data::HeldOutSeeds), which no training stage reads.
//
// Thread-safety: the functions share nothing but their arguments; a VideoModel is not
// thread-safe, so one thread runs them.
#ifndef VIDSERVE_TOOLS_BENCH_BENCH_QUALITY_MEASURE_H_
#define VIDSERVE_TOOLS_BENCH_BENCH_QUALITY_MEASURE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/caption_parser.h"
#include "data/clip_detector.h"
#include "data/synthetic_clip_generator.h"
#include "data/temporal_consistency.h"
#include "eval/prompt_following_tally.h"
#include "eval/reconstruction_breakdown.h"
#include "media/video_frames.h"
#include "model/video_model.h"

namespace vidserve::bench {

struct QualitySettings {
  // Each is scored; "" = random weights of `preset` (no --checkpoint given).
  std::vector<std::string> checkpoints;
  std::string preset = "tiny";
  std::string device = "auto";
  int threads = 0;                 // CPU intra-op threads; 0 = LibTorch's default
  int vae_clips = 64;              // held-out clips reconstructed
  int prompts = 64;                // held-out captions generated and scored
  // Held-out seeds skipped before the first one used: a disjoint set for tuning inference
  // settings (e.g. --first-held-out 256) without touching the reported one (0).
  int first_held_out = 0;
  int steps = 20;                  // denoising steps per generation
  std::optional<double> guidance;  // unset = each checkpoint's default
  // --timestep-shift, --guidance-interval, --stochasticity: replace each checkpoint's.
  SamplerOverrides sampler;
  uint64_t seed = 0;               // generation seeds derive from it (GenerationSeed)
  int frames = 17, height = 64, width = 64;
  std::optional<DecoderKind> decoder;  // for generated clips; unset = the server's default
  int generation_batch = 16;           // generations per DenoiseStep
  int vae_batch = 8;                   // clips per Encode / Decode call in reconstruction
  int timing_batch = 8;                // latents per timed Decode call
  int timing_repeats = 5;
  // Decode's arithmetic on CUDA (VideoModel::Options::decode_precision; CPU: float32).
  DecodePrecision decode_precision = DecodePrecision::kFloat32;
  std::string json_path;
  std::string sheet_path;
  // --dump-clips: every scored clip as .y4m (truth-NNNN.y4m and .txt captions at the top,
  // recon-NNNN.y4m and gen-NNNN.y4m under ckpt<k>/), for looking at what the detector judged.
  // "" = none. MeasureReconstruction and MeasurePromptFollowing write into `dump_dir` itself,
  // which bench_quality.cc points at each checkpoint's folder.
  std::string dump_dir;
  int sheet_prompts = 8;
  std::vector<int> sheet_frames;
};

// One held-out seed: its render (the VAE's input and the ground truth) and its caption.
struct HeldOutClip {
  uint64_t seed = 0;
  data::ClipSpec spec;
  media::VideoFrames video;
  std::string caption;
  data::ExpectedAttributes expected;
};

struct DecodeTiming {
  int batch = 0;
  int repeats = 0;
  double full_ms = 0;  // medians, per batch
  double thin_ms = 0;
};

struct GeneratedSample {
  int index = 0;
  uint64_t seed = 0;
  data::ClipDetection detection;
  data::ClipScore score;
  data::TemporalConsistency consistency;
};

struct CheckpointResult {
  std::string label;  // for tables: the checkpoint path, or "random weights, preset <name>"
  ModelInfo info;
  double guidance = 0;
  eval::ReconstructionBreakdown reconstruction;
  // The detector on the full decoder's reconstructions of the held-out clips, scored
  // against their captions: the ceiling the VAE itself puts on prompt following (a shape
  // the VAE cannot reproduce cannot be generated either).
  eval::PromptFollowingTally reconstruction_detection;
  // Shape accuracy by the detector's earlier rule (data::ShapeRule::kRadialCv), on the
  // reconstructions and on the generated clips, so figures stay comparable with those
  // published before template fitting.
  eval::Accuracy reconstruction_shape_radial_rule;
  eval::Accuracy shape_radial_rule;
  DecodeTiming timing;
  eval::PromptFollowingTally prompt_following;
  std::vector<GeneratedSample> samples;         // scored prompts, in order
  std::vector<media::VideoFrames> sheet_clips;  // generated clips of the contact sheet's rows
  double reconstruction_seconds = 0;
  double generation_seconds = 0;  // prompt following: denoising and decoding
};

// The generation seed of prompt `index`: splitmix64((bench_seed << 32) + index). The same
// prompt gets the same noise under every checkpoint, so a comparison between checkpoints is
// paired; nearby bench seeds give unrelated noise.
uint64_t GenerationSeed(uint64_t bench_seed, int index);

// A decoded clip as the eval measures take it (moves the bytes).
media::VideoFrames ToFrames(VideoClip clip);

// The decoder the server uses for a Generate request that names none, taken from the
// server's own request validation so the report cannot drift from what Generate serves.
absl::StatusOr<DecoderKind> ServerDefaultGenerateDecoder();

// Writes `video` to dir/<kind>-NNNN.y4m (index zero-padded to 4 digits).
absl::Status DumpClip(const std::string& dir, const std::string& kind, int index,
                      const media::VideoFrames& video);

// Adds whether `detection` shows the expected shape by the detector's earlier rule
// (data::ShapeRule::kRadialCv, judged again from the detection's features) to `accuracy`;
// nothing when the prompt names no shape.
void AddRadialRuleShape(const data::ClipDetection& detection,
                        const data::ExpectedAttributes& expected, eval::Accuracy& accuracy);

// The first `count` held-out seeds at the settings' clip shape.
std::vector<HeldOutClip> RenderHeldOutClips(const QualitySettings& settings, int count);

// The detector's scores and the temporal consistency of the renders of held_out[0, count):
// the ceiling and the reference for generated clips.
absl::StatusOr<eval::PromptFollowingTally> ScoreGroundTruth(
    const std::vector<HeldOutClip>& held_out, int count);

// Encodes held_out[0, vae_clips) and decodes the latents with both decoders, vae_batch clips
// per call, into result.reconstruction. Keeps the first timing_batch latents in
// `timing_latents` for MeasureDecodeTiming.
absl::Status MeasureReconstruction(VideoModel& model, const QualitySettings& settings,
                                   const std::vector<HeldOutClip>& held_out,
                                   CheckpointResult& result, std::vector<Latent>& timing_latents);

// Times one Decode call of timing_batch latents (`latents`, non-empty, cycled) with each
// decoder: one warm-up each, then timing_repeats rounds alternating full and thin so drift
// in machine speed affects both alike. On CUDA, Decode's device-to-host copy synchronises.
absl::Status MeasureDecodeTiming(VideoModel& model, const QualitySettings& settings,
                                 const std::vector<Latent>& latents, DecodeTiming& timing);

// Generates the captions of held_out[0, count), generation_batch at a time through
// DenoiseStep, decodes them with `decoder`, and scores the first settings.prompts into
// result.prompt_following and result.samples; keeps the clips of the first `keep` in
// result.sheet_clips.
absl::Status MeasurePromptFollowing(VideoModel& model, const QualitySettings& settings,
                                    DecoderKind decoder, const std::vector<HeldOutClip>& held_out,
                                    int count, int keep, CheckpointResult& result);

}  // namespace vidserve::bench

#endif  // VIDSERVE_TOOLS_BENCH_BENCH_QUALITY_MEASURE_H_

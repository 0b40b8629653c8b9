#include "tools/bench/bench_quality_measure.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_format.h"
#include "data/splitmix64.h"
#include "eval/video_quality.h"
#include "media/y4m_io.h"
#include "model/status_macros.h"
#include "server/request_validation.h"
#include "tools/bench/bench_stats.h"

namespace vidserve::bench {
namespace {

VideoClip ToClip(const media::VideoFrames& video) {
  VideoClip clip;
  clip.frames = video.frames;
  clip.height = video.height;
  clip.width = video.width;
  clip.fps = video.fps;
  clip.rgb = video.rgb;
  return clip;
}

}  // namespace

media::VideoFrames ToFrames(VideoClip clip) {
  media::VideoFrames video;
  video.frames = static_cast<int>(clip.frames);
  video.height = static_cast<int>(clip.height);
  video.width = static_cast<int>(clip.width);
  video.fps = clip.fps;
  video.rgb = std::move(clip.rgb);
  return video;
}

absl::Status DumpClip(const std::string& dir, const std::string& kind, int index,
                      const media::VideoFrames& video) {
  return media::WriteY4m(absl::StrFormat("%s/%s-%04d.y4m", dir, kind, index), video);
}

void AddRadialRuleShape(const data::ClipDetection& detection,
                        const data::ExpectedAttributes& expected, eval::Accuracy& accuracy) {
  if (!expected.shape) return;
  data::ClipDetectorOptions radial;
  radial.shape_rule = data::ShapeRule::kRadialCv;
  data::ClipDetection rejudged = detection;
  for (data::DetectedObject& object : rejudged.objects) {
    object.shape = data::JudgeShape(object, radial);
  }
  ++accuracy.scored;
  accuracy.correct += data::Score(rejudged, expected).shape_correct.value_or(false) ? 1 : 0;
}

uint64_t GenerationSeed(uint64_t bench_seed, int index) {
  return data::SplitMix64((bench_seed << 32) + static_cast<uint64_t>(index));
}

absl::StatusOr<DecoderKind> ServerDefaultGenerateDecoder() {
  v1::GenerateRequest request;
  request.set_prompt("a red circle");
  absl::StatusOr<GenerateInput> input = ValidateGenerateRequest(request, RequestLimits{});
  if (!input.ok()) return input.status();
  return input->decoder;
}

std::vector<HeldOutClip> RenderHeldOutClips(const QualitySettings& settings, int count) {
  data::SyntheticClipOptions options;
  options.frames = settings.frames;
  options.height = settings.height;
  options.width = settings.width;
  std::vector<HeldOutClip> clips;
  const std::vector<uint64_t> seeds = data::HeldOutSeeds(settings.first_held_out + count);
  for (size_t i = settings.first_held_out; i < seeds.size(); ++i) {
    const uint64_t seed = seeds[i];
    HeldOutClip clip;
    clip.seed = seed;
    clip.spec = data::SampleSpec(seed, options);
    clip.video = data::Render(clip.spec);
    clip.caption = data::Caption(clip.spec);
    clip.expected = data::ParseCaption(clip.caption);
    clips.push_back(std::move(clip));
  }
  return clips;
}

absl::StatusOr<eval::PromptFollowingTally> ScoreGroundTruth(
    const std::vector<HeldOutClip>& held_out, int count) {
  eval::PromptFollowingTally tally;
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<data::ClipDetection> detection = data::DetectClip(held_out[i].video);
    if (!detection.ok()) return detection.status();
    absl::StatusOr<data::TemporalConsistency> consistency =
        data::MeasureTemporalConsistency(held_out[i].video);
    if (!consistency.ok()) return consistency.status();
    tally.Add(data::Score(*detection, held_out[i].expected), *consistency, held_out[i].expected);
  }
  return tally;
}

absl::Status MeasureReconstruction(VideoModel& model, const QualitySettings& settings,
                                   const std::vector<HeldOutClip>& held_out,
                                   CheckpointResult& result, std::vector<Latent>& timing_latents) {
  const double start = NowSeconds();
  for (int first = 0; first < settings.vae_clips; first += settings.vae_batch) {
    const int count = std::min(settings.vae_batch, settings.vae_clips - first);
    std::vector<VideoClip> clips;
    for (int i = first; i < first + count; ++i) clips.push_back(ToClip(held_out[i].video));
    std::vector<const VideoClip*> clip_ptrs;
    for (const VideoClip& clip : clips) clip_ptrs.push_back(&clip);
    absl::StatusOr<std::vector<Latent>> latents = model.Encode(clip_ptrs);
    if (!latents.ok()) return latents.status();
    std::vector<const Latent*> latent_ptrs;
    for (const Latent& latent : *latents) latent_ptrs.push_back(&latent);
    absl::StatusOr<std::vector<VideoClip>> full =
        model.Decode(latent_ptrs, DecoderKind::kFull, held_out[first].video.fps);
    if (!full.ok()) return full.status();
    absl::StatusOr<std::vector<VideoClip>> thin =
        model.Decode(latent_ptrs, DecoderKind::kThin, held_out[first].video.fps);
    if (!thin.ok()) return thin.status();
    for (int j = 0; j < count; ++j) {
      const HeldOutClip& truth = held_out[first + j];
      const media::VideoFrames full_frames = ToFrames(std::move((*full)[j]));
      absl::StatusOr<eval::VideoQuality> full_quality =
          eval::MeasureVideoQuality(truth.video, full_frames);
      if (!full_quality.ok()) return full_quality.status();
      if (!settings.dump_dir.empty()) {
        VIDSERVE_RETURN_IF_ERROR(DumpClip(settings.dump_dir, "recon", first + j, full_frames));
      }
      absl::StatusOr<data::ClipDetection> detection = data::DetectClip(full_frames);
      if (!detection.ok()) return detection.status();
      AddRadialRuleShape(*detection, truth.expected, result.reconstruction_shape_radial_rule);
      absl::StatusOr<data::TemporalConsistency> consistency =
          data::MeasureTemporalConsistency(full_frames);
      if (!consistency.ok()) return consistency.status();
      result.reconstruction_detection.Add(data::Score(*detection, truth.expected), *consistency,
                                          truth.expected);
      absl::StatusOr<eval::VideoQuality> thin_quality =
          eval::MeasureVideoQuality(truth.video, ToFrames(std::move((*thin)[j])));
      if (!thin_quality.ok()) return thin_quality.status();
      result.reconstruction.Add(truth.spec.background.texture, *full_quality, *thin_quality);
    }
    for (Latent& latent : *latents) {
      if (static_cast<int>(timing_latents.size()) < settings.timing_batch) {
        timing_latents.push_back(std::move(latent));
      }
    }
    std::fprintf(stderr, "  reconstruction %d/%d clips\n", first + count, settings.vae_clips);
  }
  result.reconstruction_seconds = NowSeconds() - start;
  return absl::OkStatus();
}

absl::Status MeasureDecodeTiming(VideoModel& model, const QualitySettings& settings,
                                 const std::vector<Latent>& latents, DecodeTiming& timing) {
  if (latents.empty()) return absl::InvalidArgumentError("decode timing: no latents to decode");
  std::vector<const Latent*> batch;
  for (int i = 0; i < settings.timing_batch; ++i) batch.push_back(&latents[i % latents.size()]);
  std::vector<double> full_s, thin_s;
  for (int round = -1; round < settings.timing_repeats; ++round) {
    for (DecoderKind kind : {DecoderKind::kFull, DecoderKind::kThin}) {
      const double t0 = NowSeconds();
      absl::StatusOr<std::vector<VideoClip>> video = model.Decode(batch, kind, 24.0);
      const double seconds = NowSeconds() - t0;
      if (!video.ok()) return video.status();
      if (round >= 0) (kind == DecoderKind::kFull ? full_s : thin_s).push_back(seconds);
    }
  }
  timing.batch = settings.timing_batch;
  timing.repeats = settings.timing_repeats;
  timing.full_ms = Median(full_s) * 1e3;
  timing.thin_ms = Median(thin_s) * 1e3;
  return absl::OkStatus();
}

absl::Status MeasurePromptFollowing(VideoModel& model, const QualitySettings& settings,
                                    DecoderKind decoder, const std::vector<HeldOutClip>& held_out,
                                    int count, int keep, CheckpointResult& result) {
  const double start = NowSeconds();
  for (int first = 0; first < count; first += settings.generation_batch) {
    const int batch_size = std::min(settings.generation_batch, count - first);
    std::vector<std::unique_ptr<Generation>> generations;
    std::vector<Generation*> batch;
    for (int i = first; i < first + batch_size; ++i) {
      GenerationParams params;
      params.prompt = held_out[i].caption;
      params.frames = settings.frames;
      params.height = settings.height;
      params.width = settings.width;
      params.steps = settings.steps;
      params.guidance = static_cast<float>(result.guidance);
      params.seed = GenerationSeed(settings.seed, i);
      absl::StatusOr<std::unique_ptr<Generation>> generation = model.StartGeneration(params);
      if (!generation.ok()) return generation.status();
      batch.push_back(generation->get());
      generations.push_back(std::move(*generation));
    }
    while (!batch.front()->finished()) {
      if (absl::Status s = model.DenoiseStep(batch); !s.ok()) return s;
    }
    std::vector<Latent> latents;
    for (const Generation* generation : batch) {
      absl::StatusOr<Latent> latent = model.FinalLatent(*generation);
      if (!latent.ok()) return latent.status();
      latents.push_back(std::move(*latent));
    }
    std::vector<const Latent*> latent_ptrs;
    for (const Latent& latent : latents) latent_ptrs.push_back(&latent);
    absl::StatusOr<std::vector<VideoClip>> clips =
        model.Decode(latent_ptrs, decoder, held_out[first].video.fps);
    if (!clips.ok()) return clips.status();
    for (int j = 0; j < batch_size; ++j) {
      const int index = first + j;
      media::VideoFrames video = ToFrames(std::move((*clips)[j]));
      if (!settings.dump_dir.empty() && index < settings.prompts) {
        VIDSERVE_RETURN_IF_ERROR(DumpClip(settings.dump_dir, "gen", index, video));
      }
      if (index < settings.prompts) {
        GeneratedSample sample;
        sample.index = index;
        sample.seed = batch[j]->params().seed;
        absl::StatusOr<data::ClipDetection> detection = data::DetectClip(video);
        if (!detection.ok()) return detection.status();
        sample.detection = *detection;
        sample.score = data::Score(sample.detection, held_out[index].expected);
        absl::StatusOr<data::TemporalConsistency> consistency =
            data::MeasureTemporalConsistency(video);
        if (!consistency.ok()) return consistency.status();
        sample.consistency = *consistency;
        result.prompt_following.Add(sample.score, sample.consistency, held_out[index].expected);
        AddRadialRuleShape(sample.detection, held_out[index].expected, result.shape_radial_rule);
        result.samples.push_back(std::move(sample));
      }
      if (index < keep) result.sheet_clips.push_back(std::move(video));
    }
    std::fprintf(stderr, "  generation %d/%d prompts\n", first + batch_size, count);
  }
  result.generation_seconds = NowSeconds() - start;
  return absl::OkStatus();
}

}  // namespace vidserve::bench

#include "server/video_service.h"

#include <atomic>
#include <cstring>
#include <deque>
#include <optional>
#include <random>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "model/video_model.h"
#include "server/half_float.h"

namespace vidserve {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Time Deadline(const grpc::CallbackServerContext* context) {
  return absl::FromChrono(context->deadline());
}

v1::Decoder DecoderToProto(DecoderKind kind) {
  return kind == DecoderKind::kThin ? v1::DECODER_THIN : v1::DECODER_FULL;
}

void TimingsToProto(const TaskTimings& timings, v1::Timings* out) {
  out->set_queue_seconds(timings.queue_seconds);
  out->set_compute_seconds(timings.compute_seconds);
  out->set_total_seconds(timings.total_seconds);
  out->set_batch_size(timings.batch_size);
}

// Unseeded requests still get a reproducible video: the seed chosen here is reported in the
// Summary and gives the same video when sent back.
uint64_t ChooseSeed() {
  static std::atomic<uint64_t> counter{0};
  std::random_device device;
  const uint64_t entropy = (static_cast<uint64_t>(device()) << 32) ^ device();
  return entropy ^ static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^
         (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull);
}

// Finishes a unary call and records its outcome.
void FinishUnary(Metrics* metrics, Method method, absl::Time start,
                 grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  metrics->RecordRequest(method, absl::StatusCodeToString(status.code()),
                         absl::ToDoubleSeconds(absl::Now() - start));
  metrics->AddInflight(method, -1);
  reactor->Finish(ToGrpc(status));
}

class GenerateReactor final : public grpc::ServerWriteReactor<v1::GenerateResponse>,
                              public GenerationObserver {
 public:
  GenerateReactor(VideoService* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context), start_(absl::Now()) {
    service_->metrics()->AddInflight(Method::kGenerate, 1);
  }

  // Validates and submits; on failure finishes the call at once.
  void Begin(const v1::GenerateRequest& request) {
    absl::StatusOr<GenerateInput> input =
        ValidateGenerateRequest(request, service_->options().limits);
    if (!input.ok()) {
      FinishNow(input.status());
      return;
    }
    input_ = std::move(*input);
    if (!input_.seed_given) input_.params.seed = ChooseSeed();
    GenerateTask task;
    task.params = input_.params;
    task.decoder = input_.decoder;
    task.fps = input_.fps;
    task.deadline = Deadline(context_);
    task.observer = this;
    if (absl::Status s = service_->scheduler()->SubmitGenerate(std::move(task)); !s.ok()) {
      FinishNow(s);
    }
  }

  void OnQueued(int queue_position) override {
    v1::GenerateResponse event;
    event.mutable_queued()->set_queue_position(queue_position);
    Push(std::move(event));
  }

  void OnProgress(int64_t step, int64_t total_steps, int batch_size) override {
    v1::GenerateResponse event;
    v1::Progress* progress = event.mutable_progress();
    progress->set_step(static_cast<uint32_t>(step));
    progress->set_total_steps(static_cast<uint32_t>(total_steps));
    progress->set_batch_size(batch_size);
    Push(std::move(event));
  }

  void OnDone(absl::StatusOr<GenerationResult> result) override {
    if (!result.ok()) {
      FinishNow(result.status());
      return;
    }
    const VideoClip& video = result->video;
    std::deque<v1::GenerateResponse> events;
    for (int64_t first = 0; first < video.frames; first += input_.frames_per_chunk) {
      v1::GenerateResponse event;
      v1::VideoChunk* chunk = event.mutable_chunk();
      chunk->set_first_frame(static_cast<uint32_t>(first));
      VideoClipToProto(video, first,
                       std::min<int64_t>(input_.frames_per_chunk, video.frames - first),
                       chunk->mutable_video());
      events.push_back(std::move(event));
    }
    const double ttff = absl::ToDoubleSeconds(absl::Now() - start_);
    service_->metrics()->RecordTimeToFirstFrame(ttff);
    service_->metrics()->AddGeneratedFrames(video.frames);

    v1::GenerateResponse last;
    v1::Summary* summary = last.mutable_summary();
    const GenerationParams& p = input_.params;
    summary->set_seed(p.seed);
    summary->set_frames(static_cast<uint32_t>(video.frames));
    summary->set_height(static_cast<uint32_t>(video.height));
    summary->set_width(static_cast<uint32_t>(video.width));
    summary->set_fps(input_.fps);
    summary->set_steps(static_cast<uint32_t>(p.steps));
    summary->set_guidance(p.guidance);
    // Validation resolved each setting to the request's or the model's value.
    summary->set_guidance_min_t(p.guidance_min_t.value_or(0.0));
    summary->set_guidance_max_t(p.guidance_max_t.value_or(1.0));
    summary->set_stochasticity(p.stochasticity.value_or(0.0));
    summary->set_decoder(DecoderToProto(input_.decoder));
    summary->set_queue_seconds(result->queue_seconds);
    summary->set_denoise_seconds(result->denoise_seconds);
    summary->set_decode_seconds(result->decode_seconds);
    summary->set_time_to_first_frame_seconds(ttff);
    summary->set_total_seconds(absl::ToDoubleSeconds(absl::Now() - start_));
    summary->set_max_batch_size(result->max_batch_size);
    if (input_.return_latent) {
      LatentToProto(result->latent, v1::DTYPE_FLOAT32, summary->mutable_latent());
    }
    events.push_back(std::move(last));
    {
      absl::MutexLock lock(&mu_);
      for (auto& event : events) pending_.push_back(std::move(event));
      final_status_ = absl::OkStatus();
    }
    Pump();
  }

  bool IsCancelled() const override { return cancelled_.load(std::memory_order_relaxed); }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (ok) {
        pending_.pop_front();
      } else {
        // The client is gone: stop writing; the scheduler drops the work at its next step.
        write_failed_ = true;
        pending_.clear();
        cancelled_.store(true, std::memory_order_relaxed);
      }
    }
    Pump();
  }

  void OnCancel() override { cancelled_.store(true, std::memory_order_relaxed); }

  void OnDone() override {
    service_->metrics()->RecordRequest(Method::kGenerate, absl::StatusCodeToString(final_code_),
                                       absl::ToDoubleSeconds(absl::Now() - start_));
    service_->metrics()->AddInflight(Method::kGenerate, -1);
    delete this;
  }

 private:
  void Push(v1::GenerateResponse event) {
    {
      absl::MutexLock lock(&mu_);
      if (write_failed_) return;
      pending_.push_back(std::move(event));
    }
    Pump();
  }

  void FinishNow(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      final_status_ = status;
    }
    Pump();
  }

  // Starts the next write, or finishes once everything queued is written. gRPC calls happen
  // outside mu_ because a reaction may run inline.
  void Pump() {
    const v1::GenerateResponse* to_write = nullptr;
    std::optional<absl::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      if (!pending_.empty()) {
        writing_ = true;
        to_write = &pending_.front();  // deque keeps it in place until OnWriteDone pops it
      } else if (final_status_.has_value()) {
        finished_ = true;
        finish = final_status_;
        final_code_ = final_status_->code();
      }
    }
    if (to_write != nullptr) {
      StartWrite(to_write);
    } else if (finish.has_value()) {
      Finish(ToGrpc(*finish));
    }
  }

  VideoService* const service_;
  grpc::CallbackServerContext* const context_;
  const absl::Time start_;
  GenerateInput input_;  // written in Begin before submission, then read-only
  std::atomic<bool> cancelled_{false};

  absl::Mutex mu_;
  std::deque<v1::GenerateResponse> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> final_status_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::StatusCode final_code_ = absl::StatusCode::kUnknown;  // read in OnDone, after Finish
};

}  // namespace

void LatentToProto(const Latent& latent, v1::DType dtype, v1::Latent* out) {
  out->clear_shape();
  for (int64_t dim : latent.shape) out->add_shape(dim);
  const size_t n = latent.data.size();
  if (dtype == v1::DTYPE_FLOAT16) {
    out->set_dtype(v1::DTYPE_FLOAT16);
    std::string bytes(n * 2, '\0');
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = FloatToHalf(latent.data[i]);
      bytes[2 * i] = static_cast<char>(h & 0xff);
      bytes[2 * i + 1] = static_cast<char>(h >> 8);
    }
    out->set_data(std::move(bytes));
  } else {
    out->set_dtype(v1::DTYPE_FLOAT32);
    out->set_data(reinterpret_cast<const char*>(latent.data.data()), n * sizeof(float));
  }
}

void VideoClipToProto(const VideoClip& clip, int64_t first_frame, int64_t num_frames,
                      v1::Video* out) {
  const int64_t frame_bytes = clip.height * clip.width * 3;
  out->set_frames(static_cast<uint32_t>(num_frames));
  out->set_height(static_cast<uint32_t>(clip.height));
  out->set_width(static_cast<uint32_t>(clip.width));
  out->set_fps(clip.fps);
  out->set_rgb(reinterpret_cast<const char*>(clip.rgb.data()) + first_frame * frame_bytes,
               num_frames * frame_bytes);
}

VideoService::VideoService(const Options& options, Scheduler* scheduler, Metrics* metrics)
    : options_(options), scheduler_(scheduler), metrics_(metrics) {}

grpc::ServerUnaryReactor* VideoService::Encode(grpc::CallbackServerContext* context,
                                               const v1::EncodeRequest* request,
                                               v1::EncodeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  metrics_->AddInflight(Method::kEncode, 1);
  absl::StatusOr<EncodeInput> input = ValidateEncodeRequest(*request, options_.limits);
  if (!input.ok()) {
    FinishUnary(metrics_, Method::kEncode, start, reactor, input.status());
    return reactor;
  }
  EncodeTask task;
  task.clip = std::move(input->clip);
  task.deadline = Deadline(context);
  const v1::DType dtype = input->latent_dtype;
  Metrics* metrics = metrics_;
  task.done = [metrics, start, reactor, response, dtype](absl::StatusOr<Latent> latent,
                                                         const TaskTimings& timings) {
    if (latent.ok()) {
      LatentToProto(*latent, dtype, response->mutable_latent());
      TimingsToProto(timings, response->mutable_timings());
    }
    FinishUnary(metrics, Method::kEncode, start, reactor, latent.status());
  };
  if (absl::Status s = scheduler_->SubmitEncode(std::move(task)); !s.ok()) {
    FinishUnary(metrics_, Method::kEncode, start, reactor, s);
  }
  return reactor;
}

grpc::ServerUnaryReactor* VideoService::Decode(grpc::CallbackServerContext* context,
                                               const v1::DecodeRequest* request,
                                               v1::DecodeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  metrics_->AddInflight(Method::kDecode, 1);
  absl::StatusOr<DecodeInput> input = ValidateDecodeRequest(*request, options_.limits);
  if (!input.ok()) {
    FinishUnary(metrics_, Method::kDecode, start, reactor, input.status());
    return reactor;
  }
  DecodeTask task;
  task.latent = std::move(input->latent);
  task.decoder = input->decoder;
  task.fps = input->fps;
  task.deadline = Deadline(context);
  Metrics* metrics = metrics_;
  task.done = [metrics, start, reactor, response](absl::StatusOr<VideoClip> video,
                                                  const TaskTimings& timings) {
    if (video.ok()) {
      VideoClipToProto(*video, 0, video->frames, response->mutable_video());
      TimingsToProto(timings, response->mutable_timings());
    }
    FinishUnary(metrics, Method::kDecode, start, reactor, video.status());
  };
  if (absl::Status s = scheduler_->SubmitDecode(std::move(task)); !s.ok()) {
    FinishUnary(metrics_, Method::kDecode, start, reactor, s);
  }
  return reactor;
}

grpc::ServerWriteReactor<v1::GenerateResponse>* VideoService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  auto* reactor = new GenerateReactor(this, context);
  reactor->Begin(*request);
  return reactor;
}

grpc::ServerUnaryReactor* VideoService::GetModelInfo(grpc::CallbackServerContext* context,
                                                     const v1::GetModelInfoRequest* /*request*/,
                                                     v1::GetModelInfoResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  metrics_->AddInflight(Method::kGetModelInfo, 1);
  const ModelInfo& info = scheduler_->model_info();
  const ModelConfig& config = info.config;
  response->set_model_name(config.name);
  response->set_preset(config.preset);
  response->set_trained(info.trained);
  response->set_checkpoint(info.checkpoint);
  response->add_devices(info.device);
  for (int64_t layer = 0; layer < config.denoiser.num_layers; ++layer) {
    response->add_mixers(config.MixerOfLayer(layer));
  }
  for (const std::string& preset : KnownPresets()) response->add_presets(preset);
  response->set_latent_channels(static_cast<uint32_t>(config.vae.latent_channels));
  response->set_temporal_compression(kTemporalCompression);
  response->set_spatial_compression(kSpatialCompression);
  response->set_vae_parameters(info.vae_parameters);
  response->set_thin_decoder_parameters(info.thin_decoder_parameters);
  response->set_denoiser_parameters(info.denoiser_parameters);
  const RequestLimits& limits = options_.limits;
  v1::Limits* out_limits = response->mutable_limits();
  out_limits->set_max_frames(static_cast<uint32_t>(limits.max_frames));
  out_limits->set_max_height(static_cast<uint32_t>(limits.max_height));
  out_limits->set_max_width(static_cast<uint32_t>(limits.max_width));
  out_limits->set_max_steps(static_cast<uint32_t>(limits.max_steps));
  out_limits->set_max_prompt_bytes(static_cast<uint32_t>(limits.max_prompt_bytes));
  out_limits->set_max_guidance(static_cast<float>(limits.max_guidance));
  out_limits->set_max_batch_size(options_.max_batch_size);
  out_limits->set_max_message_bytes(limits.max_message_bytes);
  v1::Defaults* defaults = response->mutable_defaults();
  defaults->set_frames(static_cast<uint32_t>(limits.default_frames));
  defaults->set_height(static_cast<uint32_t>(limits.default_height));
  defaults->set_width(static_cast<uint32_t>(limits.default_width));
  defaults->set_steps(static_cast<uint32_t>(limits.default_steps));
  defaults->set_guidance(static_cast<float>(limits.default_guidance));
  defaults->set_fps(kDefaultFps);
  for (const auto& [name, value] : info.metrics) (*response->mutable_metrics())[name] = value;
  response->set_version(options_.version);
  response->set_torch_version(TorchVersion());
  v1::DecodeSettings* decode = response->mutable_decode();
  decode->set_cuda_graphs(info.cuda_graph_decode);
  decode->set_precision(DecodePrecisionName(info.decode_precision));
  decode->set_channels_last(info.decode_channels_last);
  decode->set_conv2d(info.decode_conv2d);
  decode->set_direct_conv(info.decode_direct_conv);
  decode->set_fused_norm(info.fused_norm);
  const SamplerConfig& sampler_config = info.config.sampler;
  v1::SamplerSettings* sampler = response->mutable_sampler();
  sampler->set_timestep_shift(sampler_config.timestep_shift);
  sampler->set_guidance_min_t(sampler_config.guidance_min_t);
  sampler->set_guidance_max_t(sampler_config.guidance_max_t);
  sampler->set_stochasticity(sampler_config.stochasticity);
  FinishUnary(metrics_, Method::kGetModelInfo, start, reactor, absl::OkStatus());
  return reactor;
}

}  // namespace vidserve

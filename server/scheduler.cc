#include "server/scheduler.h"

#include <algorithm>
#include <future>
#include <map>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"

namespace vidserve {
namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// A failed warm-up step's status, its message prefixed with the step ("warm-up encode: ...").
absl::Status WarmupError(absl::string_view step, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("warm-up ", step, ": ", status.message()));
}

std::string ShapeKey(const std::array<int64_t, 4>& shape) { return absl::StrJoin(shape, "x"); }

// Runs `run` over the whole batch; when that fails and the batch has several requests, runs
// each request alone so that only the request that really fails gets the error (and a batch
// too large for the device still completes).
template <typename Output, typename Input, typename RunFn>
std::vector<absl::StatusOr<Output>> RunWithSplitRetry(const std::vector<const Input*>& inputs,
                                                      RunFn run) {
  std::vector<absl::StatusOr<Output>> results;
  absl::StatusOr<std::vector<Output>> batched = run(inputs);
  if (batched.ok() && batched->size() == inputs.size()) {
    for (Output& out : *batched) results.emplace_back(std::move(out));
    return results;
  }
  absl::Status error =
      batched.ok() ? absl::InternalError("model returned a wrong result count") : batched.status();
  if (inputs.size() == 1) {
    LOG_WARNING << "model error on one request: " << error;
    results.emplace_back(error);
    return results;
  }
  LOG_WARNING << "batch of " << inputs.size() << " failed, retrying one by one: " << error;
  for (const Input* input : inputs) {
    absl::StatusOr<std::vector<Output>> single = run({input});
    if (single.ok() && single->size() == 1) {
      results.emplace_back(std::move(single->front()));
    } else {
      results.emplace_back(single.ok() ? absl::InternalError("model returned no result")
                                       : single.status());
      LOG_WARNING << "model error on one request of the split batch: " << results.back().status();
    }
  }
  return results;
}

absl::Status DeadlineError(absl::Time deadline) {
  return absl::DeadlineExceededError(absl::StrCat("deadline expired before the request started (",
                                                  absl::FormatTime(deadline), ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const Options& options,
                                                             std::unique_ptr<VideoModel> model,
                                                             Metrics* metrics) {
  if (model == nullptr) return absl::InvalidArgumentError("scheduler: model is required");
  if (metrics == nullptr) return absl::InvalidArgumentError("scheduler: metrics is required");
  if (options.max_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_size: must be >= 1, got ", options.max_batch_size));
  }
  if (options.max_queue_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_queue_size: must be >= 1, got ", options.max_queue_size));
  }
  if (options.max_active_generations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_active_generations: must be >= 1, got ", options.max_active_generations));
  }
  return std::unique_ptr<Scheduler>(new Scheduler(options, std::move(model), metrics));
}

Scheduler::Scheduler(const Options& options, std::unique_ptr<VideoModel> model, Metrics* metrics)
    : options_(options),
      model_(std::move(model)),
      model_info_(model_->info()),
      metrics_(metrics),
      on_gpu_(model_info_.device.rfind("cuda", 0) == 0),
      encode_queue_(
          {"encode", options.max_batch_size, options.max_queue_delay_us, options.max_queue_size}),
      decode_queue_(
          {"decode", options.max_batch_size, options.max_queue_delay_us, options.max_queue_size}) {}

Scheduler::~Scheduler() { Stop(); }

absl::Status Scheduler::Warmup(int max_batch) {
  // On the worker thread, which then goes on serving: LibTorch 2.x keeps cuDNN's autotuned
  // execution plans in a thread_local cache (aten/src/ATen/native/cudnn/Conv_v8.cpp), so a
  // warm-up on another thread left the worker to autotune every Encode shape again. On an
  // H200 that held Encode's p90 at 0.6-0.9 s (Decode replays CUDA graphs and was not hit).
  std::promise<absl::Status> warmed_up;
  std::future<absl::Status> result = warmed_up.get_future();
  worker_ = std::thread([this, max_batch, &warmed_up] {
    warmed_up.set_value(RunWarmup(max_batch));
    WorkerLoop();
  });
  return result.get();
}

absl::Status Scheduler::RunWarmup(int max_batch) {
  const absl::Time start = absl::Now();
  if (max_batch <= 0) max_batch = on_gpu_ ? options_.max_batch_size : 1;
  max_batch = std::min(max_batch, options_.max_batch_size);
  const ModelLimits& limits = model_info_.config.limits;
  VideoClip clip;
  clip.frames = limits.default_frames;
  clip.height = limits.default_height;
  clip.width = limits.default_width;
  clip.rgb.assign(clip.NumBytes(), 128);
  for (int batch = 1; batch <= max_batch; ++batch) {
    const std::vector<const VideoClip*> clips(batch, &clip);
    absl::StatusOr<std::vector<Latent>> latents = model_->Encode(clips);
    if (!latents.ok()) return WarmupError("encode", latents.status());
    std::vector<const Latent*> latent_ptrs;
    for (const Latent& latent : *latents) latent_ptrs.push_back(&latent);
    for (DecoderKind decoder : {DecoderKind::kFull, DecoderKind::kThin}) {
      absl::StatusOr<std::vector<VideoClip>> video = model_->Decode(latent_ptrs, decoder, 24.0);
      if (!video.ok()) return WarmupError("decode", video.status());
    }
    if (batch > options_.max_active_generations) continue;
    std::vector<std::unique_ptr<Generation>> generations;
    std::vector<Generation*> step_batch;
    for (int i = 0; i < batch; ++i) {
      GenerationParams params;
      params.prompt = "warm-up";
      params.frames = limits.default_frames;
      params.height = limits.default_height;
      params.width = limits.default_width;
      params.guidance = static_cast<float>(model_info_.config.sampler.default_guidance);
      // Three steps start at t = 1, 2/3 and 1/3: with a guidance interval such as the
      // shipped model's (t >= 0.4) both the guided (two rows per generation) and the
      // unguided batch shapes run.
      params.steps = 3;
      params.seed = static_cast<uint64_t>(i);
      absl::StatusOr<std::unique_ptr<Generation>> generation = model_->StartGeneration(params);
      if (!generation.ok()) return WarmupError("generation", generation.status());
      step_batch.push_back(generation->get());
      generations.push_back(std::move(*generation));
    }
    while (!step_batch.front()->finished()) {
      if (absl::Status s = model_->DenoiseStep(step_batch); !s.ok()) {
        return WarmupError("denoise step", s);
      }
    }
  }
  LOG_INFO << "warm-up done seconds=" << Seconds(absl::Now() - start) << " shape="
           << limits.default_frames << "x" << limits.default_height << "x" << limits.default_width
           << " batch_sizes=1.." << max_batch;
  return absl::OkStatus();
}

void Scheduler::Start() {
  if (!worker_.joinable()) worker_ = std::thread([this] { WorkerLoop(); });
}

absl::Status Scheduler::SubmitEncode(EncodeTask task) {
  absl::MutexLock lock(&mu_);
  if (!accepting_) return absl::UnavailableError("server is draining");
  task.enqueue_time = absl::Now();
  const std::string key =
      absl::StrCat(task.clip.frames, "x", task.clip.height, "x", task.clip.width);
  const absl::Time now = task.enqueue_time;
  if (absl::Status s = encode_queue_.Push(key, std::move(task), now); !s.ok()) return s;
  ++outstanding_;
  UpdateQueueDepths();
  work_cv_.Signal();
  return absl::OkStatus();
}

absl::Status Scheduler::SubmitDecode(DecodeTask task) {
  absl::MutexLock lock(&mu_);
  if (!accepting_) return absl::UnavailableError("server is draining");
  task.enqueue_time = absl::Now();
  const std::string key =
      absl::StrCat(ShapeKey(task.latent.shape), "/", DecoderKindName(task.decoder));
  const absl::Time now = task.enqueue_time;
  if (absl::Status s = decode_queue_.Push(key, std::move(task), now); !s.ok()) return s;
  ++outstanding_;
  UpdateQueueDepths();
  work_cv_.Signal();
  return absl::OkStatus();
}

absl::Status Scheduler::SubmitGenerate(GenerateTask task) {
  absl::MutexLock lock(&mu_);
  if (!accepting_) return absl::UnavailableError("server is draining");
  if (static_cast<int>(pending_generations_.size()) >= options_.max_queue_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat("generate queue is full (max_queue_size ", options_.max_queue_size, ")"));
  }
  task.enqueue_time = absl::Now();
  task.observer->OnQueued(static_cast<int>(pending_generations_.size()));
  pending_generations_.push_back(std::move(task));
  ++outstanding_;
  UpdateQueueDepths();
  work_cv_.Signal();
  return absl::OkStatus();
}

void Scheduler::StopAccepting() {
  absl::MutexLock lock(&mu_);
  accepting_ = false;
  work_cv_.Signal();  // queued batches no longer wait for mates
}

bool Scheduler::WaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    accepting_ = false;
    stopping_ = true;
    work_cv_.Signal();
  }
  if (worker_.joinable()) worker_.join();
  // The worker is gone: everything left is ours to fail.
  std::vector<EncodeTask> encodes;
  std::vector<DecodeTask> decodes;
  std::list<GenerateTask> pending;
  {
    absl::MutexLock lock(&mu_);
    encodes = encode_queue_.TakeAll();
    decodes = decode_queue_.TakeAll();
    pending.swap(pending_generations_);
    UpdateQueueDepths();
  }
  const absl::Status stopped =
      absl::UnavailableError("server shut down before the request finished");
  for (EncodeTask& task : encodes) {
    task.done(stopped, TaskTimings{});
    TaskFinished();
  }
  for (DecodeTask& task : decodes) {
    task.done(stopped, TaskTimings{});
    TaskFinished();
  }
  for (GenerateTask& task : pending) FailGeneration(task, stopped);
  for (auto& active : active_) CompleteGeneration(*active, stopped);
  active_.clear();
}

void Scheduler::TaskFinished(int count) {
  absl::MutexLock lock(&mu_);
  outstanding_ -= count;
}

void Scheduler::UpdateQueueDepths() {
  metrics_->SetQueueDepth(Method::kEncode, encode_queue_.size());
  metrics_->SetQueueDepth(Method::kDecode, decode_queue_.size());
  metrics_->SetQueueDepth(Method::kGenerate, static_cast<int>(pending_generations_.size()));
}

void Scheduler::UpdateDeviceMemory() {
  if (!on_gpu_) return;
  const VideoModel::MemoryStats m = model_->DeviceMemory();
  metrics_->SetGpuMemory(m.allocated_bytes, m.reserved_bytes, m.peak_bytes, m.total_bytes);
}

void Scheduler::WorkerLoop() {
  while (true) {
    Work work = NextWork();
    switch (work.kind) {
      case WorkKind::kStop:
        return;
      case WorkKind::kEncode:
        RunEncodeBatch(std::move(work.encode));
        break;
      case WorkKind::kDecode:
        RunDecodeBatch(std::move(work.decode));
        break;
      case WorkKind::kGenerate:
        RunGenerationRound();
        break;
    }
    UpdateDeviceMemory();
  }
}

Scheduler::Work Scheduler::NextWork() {
  absl::MutexLock lock(&mu_);
  while (true) {
    Work work;
    if (stopping_) return work;
    const absl::Time now = absl::Now();
    const bool flush = !accepting_;  // draining: nobody else is coming, do not wait
    for (int i = 0; i < 3 && work.kind == WorkKind::kStop; ++i) {
      const int kind = (next_kind_ + i) % 3;
      if (kind == 0) {
        work.encode = encode_queue_.PopReadyBatch(now, flush);
        if (!work.encode.empty()) work.kind = WorkKind::kEncode;
      } else if (kind == 1) {
        work.decode = decode_queue_.PopReadyBatch(now, flush);
        if (!work.decode.empty()) work.kind = WorkKind::kDecode;
      } else if (!pending_generations_.empty() || active_generation_count_ > 0) {
        work.kind = WorkKind::kGenerate;
      }
      if (work.kind != WorkKind::kStop) next_kind_ = (kind + 1) % 3;
    }
    if (work.kind != WorkKind::kStop) {
      UpdateQueueDepths();
      return work;
    }
    // Nothing ready: sleep until a submission, or until the oldest queued request's delay
    // runs out.
    absl::Time wake = absl::InfiniteFuture();
    if (auto t = encode_queue_.NextFlushTime()) wake = std::min(wake, *t);
    if (auto t = decode_queue_.NextFlushTime()) wake = std::min(wake, *t);
    work_cv_.WaitWithDeadline(&mu_, wake);
  }
}

template <typename Output, typename Task, typename InputOf, typename RunFn>
void Scheduler::RunUnaryBatch(Method method, std::vector<Task>& batch, InputOf input_of,
                              RunFn run) {
  const absl::Time start = absl::Now();
  std::vector<Task*> live;
  for (Task& task : batch) {
    if (task.deadline < start) {
      task.done(DeadlineError(task.deadline), TaskTimings{});
      TaskFinished();
    } else {
      live.push_back(&task);
    }
  }
  if (live.empty()) return;
  using Input = std::remove_const_t<std::remove_pointer_t<decltype(input_of(*live.front()))>>;
  std::vector<const Input*> inputs;
  for (Task* task : live) inputs.push_back(input_of(*task));
  auto results = RunWithSplitRetry<Output, Input>(inputs, run);
  const absl::Time end = absl::Now();
  const int size = static_cast<int>(live.size());
  metrics_->RecordCompute(method, Seconds(end - start), size);
  for (size_t i = 0; i < live.size(); ++i) {
    TaskTimings timings{Seconds(start - live[i]->enqueue_time), Seconds(end - start),
                        Seconds(end - live[i]->enqueue_time), size};
    metrics_->RecordQueueTime(method, timings.queue_seconds);
    live[i]->done(std::move(results[i]), timings);
  }
  TaskFinished(size);
}

void Scheduler::RunEncodeBatch(std::vector<EncodeTask> batch) {
  RunUnaryBatch<Latent>(
      Method::kEncode, batch, [](EncodeTask& task) { return &task.clip; },
      [this](const std::vector<const VideoClip*>& in) { return model_->Encode(in); });
}

absl::StatusOr<std::vector<VideoClip>> Scheduler::DecodeAndRecord(
    const std::vector<const Latent*>& latents, DecoderKind decoder) {
  VideoModel::DecodeTimings timings;
  auto clips = model_->Decode(latents, decoder, 24.0, &timings);
  if (clips.ok()) {
    metrics_->RecordDecodeParts(decoder, timings.network_seconds, timings.output_seconds);
  }
  return clips;
}

void Scheduler::RunDecodeBatch(std::vector<DecodeTask> batch) {
  // The batch key includes the decoder; the fps is per request, so each task's completion
  // stamps its own (the model only carries it through).
  const DecoderKind decoder = batch.front().decoder;
  for (DecodeTask& task : batch) {
    task.done = [done = std::move(task.done), fps = task.fps](absl::StatusOr<VideoClip> clip,
                                                             const TaskTimings& timings) {
      if (clip.ok()) clip->fps = fps;
      done(std::move(clip), timings);
    };
  }
  RunUnaryBatch<VideoClip>(
      Method::kDecode, batch, [](DecodeTask& task) { return &task.latent; },
      [this, decoder](const std::vector<const Latent*>& in) {
        return DecodeAndRecord(in, decoder);
      });
}

void Scheduler::FailGeneration(GenerateTask& task, absl::Status status) {
  task.observer->OnDone(std::move(status));
  TaskFinished();
}

void Scheduler::CompleteGeneration(ActiveGeneration& active,
                                   absl::StatusOr<GenerationResult> result) {
  active.task.observer->OnDone(std::move(result));
  absl::MutexLock lock(&mu_);
  --outstanding_;
  --active_generation_count_;
}

void Scheduler::AdmitGenerations() {
  std::vector<GenerateTask> admitted;
  {
    absl::MutexLock lock(&mu_);
    while (!pending_generations_.empty() &&
           active_generation_count_ + static_cast<int>(admitted.size()) <
               options_.max_active_generations) {
      admitted.push_back(std::move(pending_generations_.front()));
      pending_generations_.pop_front();
    }
    active_generation_count_ += static_cast<int>(admitted.size());
    UpdateQueueDepths();
  }
  const absl::Time now = absl::Now();
  for (GenerateTask& task : admitted) {
    absl::Status error;
    if (task.deadline < now) {
      error = DeadlineError(task.deadline);
    } else if (task.observer->IsCancelled()) {
      error = absl::CancelledError("generation cancelled by the client before it started");
    }
    absl::StatusOr<std::unique_ptr<Generation>> generation =
        error.ok() ? model_->StartGeneration(task.params)
                   : absl::StatusOr<std::unique_ptr<Generation>>(error);
    if (!generation.ok()) {
      task.observer->OnDone(generation.status());
      absl::MutexLock lock(&mu_);
      --outstanding_;
      --active_generation_count_;
      continue;
    }
    auto active = std::make_unique<ActiveGeneration>();
    active->task = std::move(task);
    active->generation = std::move(*generation);
    active_.push_back(std::move(active));
  }
}

void Scheduler::DropStoppedGenerations() {
  const absl::Time now = absl::Now();
  for (auto it = active_.begin(); it != active_.end();) {
    ActiveGeneration& active = **it;
    // The deadline is checked first: gRPC also cancels a call whose deadline passed, and the
    // client should learn the real reason.
    absl::Status error;
    if (active.task.deadline < now) {
      error = absl::DeadlineExceededError(absl::StrCat("deadline expired after ",
                                                       active.generation->steps_done(), " of ",
                                                       active.task.params.steps, " denoise steps"));
    } else if (active.task.observer->IsCancelled()) {
      error = absl::CancelledError(absl::StrCat("generation cancelled by the client after ",
                                                active.generation->steps_done(), " steps"));
    }
    if (error.ok()) {
      ++it;
      continue;
    }
    CompleteGeneration(active, error);
    it = active_.erase(it);
  }
}

void Scheduler::RunGenerationRound() {
  AdmitGenerations();
  DropStoppedGenerations();
  if (active_.empty()) return;
  ++round_;

  // The generation that waited longest for a step picks the shape bucket.
  ActiveGeneration* first =
      std::min_element(active_.begin(), active_.end(), [](const auto& a, const auto& b) {
        return a->last_step_round < b->last_step_round;
      })->get();
  const std::array<int64_t, 4> shape = first->generation->latent_shape();
  std::vector<ActiveGeneration*> bucket;
  for (auto& active : active_) {
    if (active->generation->latent_shape() == shape) bucket.push_back(active.get());
  }
  std::stable_sort(bucket.begin(), bucket.end(), [](const auto* a, const auto* b) {
    return a->last_step_round < b->last_step_round;
  });
  if (static_cast<int>(bucket.size()) > options_.max_batch_size) {
    bucket.resize(options_.max_batch_size);
  }

  std::vector<Generation*> generations;
  for (ActiveGeneration* active : bucket) generations.push_back(active->generation.get());
  const absl::Time start = absl::Now();
  std::vector<absl::Status> step_status(bucket.size());
  absl::Status batched = model_->DenoiseStep(generations);
  if (!batched.ok()) {
    if (bucket.size() == 1) {
      step_status[0] = batched;
    } else {
      LOG_WARNING << "denoise batch of " << bucket.size()
                  << " failed, retrying one by one: " << batched;
      for (size_t i = 0; i < bucket.size(); ++i) {
        Generation* one[] = {generations[i]};
        step_status[i] = model_->DenoiseStep(one);
      }
    }
  }
  const absl::Time end = absl::Now();
  const int size = static_cast<int>(bucket.size());
  metrics_->RecordCompute(Method::kGenerate, Seconds(end - start), size);

  std::vector<std::unique_ptr<ActiveGeneration>> finished;
  int64_t steps_run = 0;
  for (size_t i = 0; i < bucket.size(); ++i) {
    ActiveGeneration* active = bucket[i];
    if (active->last_step_round < 0) {
      active->first_step_start = start;
      metrics_->RecordQueueTime(Method::kGenerate, Seconds(start - active->task.enqueue_time));
    }
    active->last_step_round = round_;
    active->last_step_end = end;
    active->max_batch_size = std::max(active->max_batch_size, size);
    const bool ok = step_status[i].ok();
    if (ok) {
      ++steps_run;
      active->task.observer->OnProgress(active->generation->steps_done(), active->task.params.steps,
                                        size);
    }
    if (!ok || active->generation->finished()) {
      auto it = std::find_if(active_.begin(), active_.end(),
                             [active](const auto& a) { return a.get() == active; });
      std::unique_ptr<ActiveGeneration> owned = std::move(*it);
      active_.erase(it);
      if (ok) {
        finished.push_back(std::move(owned));
      } else {
        LOG_WARNING << "denoise step failed for one generation: " << step_status[i];
        CompleteGeneration(*owned, step_status[i]);
      }
    }
  }
  metrics_->AddDenoiseSteps(steps_run);
  if (!finished.empty()) FinishGenerations(std::move(finished));
}

void Scheduler::FinishGenerations(std::vector<std::unique_ptr<ActiveGeneration>> finished) {
  // Group by (shape, decoder) so the final decodes batch like Decode requests do.
  std::map<std::string, std::vector<ActiveGeneration*>> groups;
  for (auto& active : finished) {
    groups[absl::StrCat(ShapeKey(active->generation->latent_shape()), "/",
                        DecoderKindName(active->task.decoder))]
        .push_back(active.get());
  }
  for (auto& [key, group] : groups) {
    for (size_t begin = 0; begin < group.size(); begin += options_.max_batch_size) {
      const size_t end_index = std::min(group.size(), begin + options_.max_batch_size);
      std::vector<ActiveGeneration*> part(group.begin() + begin, group.begin() + end_index);
      std::vector<absl::StatusOr<Latent>> latents;
      std::vector<const Latent*> latent_ptrs;
      std::vector<ActiveGeneration*> decodable;
      for (ActiveGeneration* active : part) {
        latents.push_back(model_->FinalLatent(*active->generation));
      }
      for (size_t i = 0; i < part.size(); ++i) {
        if (latents[i].ok()) {
          latent_ptrs.push_back(&*latents[i]);
          decodable.push_back(part[i]);
        } else {
          CompleteGeneration(*part[i], latents[i].status());
        }
      }
      if (decodable.empty()) continue;
      const DecoderKind decoder = decodable.front()->task.decoder;
      const absl::Time start = absl::Now();
      auto videos = RunWithSplitRetry<VideoClip, Latent>(
          latent_ptrs, [this, decoder](const std::vector<const Latent*>& in) {
            return DecodeAndRecord(in, decoder);
          });
      const absl::Time end = absl::Now();
      for (size_t i = 0; i < decodable.size(); ++i) {
        ActiveGeneration& active = *decodable[i];
        if (!videos[i].ok()) {
          CompleteGeneration(active, videos[i].status());
          continue;
        }
        GenerationResult result;
        result.video = std::move(*videos[i]);
        result.video.fps = active.task.fps;
        result.latent = *latent_ptrs[i];
        result.queue_seconds = Seconds(active.first_step_start - active.task.enqueue_time);
        result.denoise_seconds = Seconds(active.last_step_end - active.first_step_start);
        result.decode_seconds = Seconds(end - start);
        result.max_batch_size = active.max_batch_size;
        CompleteGeneration(active, std::move(result));
      }
    }
  }
}

}  // namespace vidserve

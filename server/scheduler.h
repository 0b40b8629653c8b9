// Scheduler: bounded per-method queues in front of ONE worker thread that owns the
// VideoModel (the model is not thread-safe; one worker per device, CPU has one device).
//
//  - Encode/Decode: dynamic batching (BatchQueue): same-shape requests (and, for Decode, the
//    same decoder) are merged into one forward pass of up to max_batch_size, waiting at most
//    max_queue_delay_us after the oldest arrived.
//  - Generate: continuous batching. Each round the worker admits waiting generations (up to
//    max_active_generations), runs ONE denoise step over the active generations of one shape
//    bucket (up to max_batch_size, the least recently stepped first), then decodes the ones
//    that finished (batched) and hands them back. Cancelled or expired generations leave at
//    the next step boundary.
//  - Fairness: the worker rotates between an Encode batch, a Decode batch and a Generate
//    round, so a long generation cannot starve unary calls (and vice versa).
//  - Backpressure: a full queue answers RESOURCE_EXHAUSTED naming the queue and its size;
//    a request whose deadline passed before it started answers DEADLINE_EXCEEDED.
//  - Failure isolation: a model error fails only its requests; a failed batch of several is
//    retried one request at a time so one bad request cannot take its batch mates down.
//
// Ownership: every submitted task gets exactly one completion call (`done` / OnDone), from
// the worker thread, or from the thread calling Stop() for work that never ran. After that
// call the scheduler never touches the task or its observer again.
//
// Thread-safety: Submit*, StopAccepting, WaitIdle, Stop are thread-safe. Warmup (optional)
// and Start are called once each, in that order, from one thread.
#ifndef VIDSERVE_SERVER_SCHEDULER_H_
#define VIDSERVE_SERVER_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/video_model.h"
#include "model/video_types.h"
#include "server/batch_queue.h"
#include "server/metrics.h"

namespace vidserve {

// Server-side timing of one unary request.
struct TaskTimings {
  double queue_seconds = 0;    // submission until its batch started
  double compute_seconds = 0;  // model time of the batch (or batches) it ran in
  double total_seconds = 0;    // submission until completion
  int batch_size = 0;          // requests in its largest batch
};

struct EncodeTask {
  VideoClip clip;
  absl::Time deadline = absl::InfiniteFuture();
  std::function<void(absl::StatusOr<Latent>, const TaskTimings&)> done;
  absl::Time enqueue_time;  // set by the scheduler
};

struct DecodeTask {
  Latent latent;
  DecoderKind decoder = DecoderKind::kFull;
  double fps = 24.0;
  absl::Time deadline = absl::InfiniteFuture();
  std::function<void(absl::StatusOr<VideoClip>, const TaskTimings&)> done;
  absl::Time enqueue_time;  // set by the scheduler
};

struct GenerationResult {
  VideoClip video;
  Latent latent;               // the final latent (float32)
  double queue_seconds = 0;    // submission until its first denoise step started
  double denoise_seconds = 0;  // first step start until last step end
  double decode_seconds = 0;   // VAE decode of the final latent
  int max_batch_size = 0;      // largest denoise batch it ran in
};

// Receives the events of one generation, in order, OnDone last. OnQueued is called from
// SubmitGenerate (under the scheduler's lock: it must not call back into the scheduler);
// the others from the worker thread.
class GenerationObserver {
 public:
  virtual ~GenerationObserver() = default;
  virtual void OnQueued(int queue_position) = 0;
  virtual void OnProgress(int64_t step, int64_t total_steps, int batch_size) = 0;
  virtual void OnDone(absl::StatusOr<GenerationResult> result) = 0;
  // Polled by the worker at step boundaries; must be thread-safe.
  virtual bool IsCancelled() const = 0;
};

struct GenerateTask {
  GenerationParams params;  // validated, seed chosen
  DecoderKind decoder = DecoderKind::kFull;
  double fps = 24.0;
  absl::Time deadline = absl::InfiniteFuture();
  GenerationObserver* observer = nullptr;  // must stay alive until its OnDone
  absl::Time enqueue_time;                 // set by the scheduler
};

class Scheduler {
 public:
  struct Options {
    int max_batch_size = 8;             // requests per forward pass / denoise step
    int64_t max_queue_delay_us = 0;     // Encode/Decode wait for batch mates
    int max_queue_size = 64;            // waiting requests per method
    int max_active_generations = 8;     // generations holding denoising state at once
  };

  // Takes ownership of `model`; `metrics` must outlive the scheduler.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const Options& options,
                                                           std::unique_ptr<VideoModel> model,
                                                           Metrics* metrics);
  ~Scheduler();  // Stop()s

  // Immutable after Create; safe from any thread.
  const ModelInfo& model_info() const { return model_info_; }
  const Options& options() const { return options_; }

  // Runs Encode, Decode (both decoders) and a denoise step at the model's default clip
  // shape, for every batch size from 1 to `max_batch` (0: options().max_batch_size on a
  // CUDA device, where each new batch shape costs cuDNN autotuning and a CUDA-graph
  // capture, measured at ~100 ms; 1 on the CPU), so that requests do not pay for lazy
  // initialisation. It runs on the worker thread (cuDNN's autotuning cache is per thread
  // in LibTorch), which then starts serving: requests queued meanwhile run after it.
  // Blocks until the warm-up is done. REQUIRES: called at most once, before Start().
  absl::Status Warmup(int max_batch = 0);
  // Starts the worker thread, unless Warmup() already did.
  void Start();

  // Queue a request. Errors: RESOURCE_EXHAUSTED (queue full), UNAVAILABLE (draining or
  // stopped). On error the task's completion is NOT called.
  absl::Status SubmitEncode(EncodeTask task);
  absl::Status SubmitDecode(DecodeTask task);
  absl::Status SubmitGenerate(GenerateTask task);

  // New submissions fail with UNAVAILABLE "server is draining"; queued work still runs,
  // without waiting for batch mates.
  void StopAccepting();
  // Blocks until no request is queued or running, or until `deadline`. True when idle.
  bool WaitIdle(absl::Time deadline);
  // Stops the worker after its current batch and fails everything left with UNAVAILABLE.
  void Stop();

 private:
  struct ActiveGeneration {
    GenerateTask task;
    std::unique_ptr<Generation> generation;
    int64_t last_step_round = -1;  // round of its last step; the smallest goes first
    absl::Time first_step_start;
    absl::Time last_step_end;
    int max_batch_size = 0;
  };
  enum class WorkKind { kStop, kEncode, kDecode, kGenerate };
  struct Work {
    WorkKind kind = WorkKind::kStop;
    std::vector<EncodeTask> encode;
    std::vector<DecodeTask> decode;
  };

  Scheduler(const Options& options, std::unique_ptr<VideoModel> model, Metrics* metrics);

  void WorkerLoop();
  absl::Status RunWarmup(int max_batch);  // Warmup()'s work, on the worker thread
  Work NextWork();
  void RunEncodeBatch(std::vector<EncodeTask> batch);
  void RunDecodeBatch(std::vector<DecodeTask> batch);
  // model_->Decode with its parts timed into the decode-part metrics (served decodes only:
  // the warm-up's stay out of them).
  absl::StatusOr<std::vector<VideoClip>> DecodeAndRecord(const std::vector<const Latent*>& latents,
                                                         DecoderKind decoder);
  // Shared by Encode and Decode: fails expired tasks, runs the rest as one batch through
  // `run` (split and retried one by one on failure), records metrics, completes each task
  // exactly once. `input_of(task)` points at the task's model input.
  template <typename Output, typename Task, typename InputOf, typename RunFn>
  void RunUnaryBatch(Method method, std::vector<Task>& batch, InputOf input_of, RunFn run);
  void RunGenerationRound();
  void AdmitGenerations();
  void DropStoppedGenerations();
  void FinishGenerations(std::vector<std::unique_ptr<ActiveGeneration>> finished);
  void CompleteGeneration(ActiveGeneration& active, absl::StatusOr<GenerationResult> result);
  void FailGeneration(GenerateTask& task, absl::Status status);
  void TaskFinished(int count = 1);
  void UpdateQueueDepths() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateDeviceMemory();

  const Options options_;
  const std::unique_ptr<VideoModel> model_;  // used only by the worker thread
  const ModelInfo model_info_;
  Metrics* const metrics_;
  const bool on_gpu_;

  absl::Mutex mu_;
  absl::CondVar work_cv_;
  BatchQueue<EncodeTask> encode_queue_ ABSL_GUARDED_BY(mu_);
  BatchQueue<DecodeTask> decode_queue_ ABSL_GUARDED_BY(mu_);
  std::list<GenerateTask> pending_generations_ ABSL_GUARDED_BY(mu_);
  int active_generation_count_ ABSL_GUARDED_BY(mu_) = 0;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;  // submitted, completion not yet called
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int next_kind_ ABSL_GUARDED_BY(mu_) = 0;  // fairness rotation: encode, decode, generate

  // Worker-thread state.
  std::vector<std::unique_ptr<ActiveGeneration>> active_;
  int64_t round_ = 0;
  std::thread worker_;
};

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_SCHEDULER_H_

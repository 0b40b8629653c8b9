// Scheduler against the real tiny model on CPU (no model mocks). Submissions are direct
// calls, so batch composition is deterministic: tasks submitted before the batching delay
// runs out must share a batch.
#include "server/scheduler.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vidserve {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::unique_ptr<VideoModel> TinyModel() {
  absl::StatusOr<ModelConfig> config = LoadPreset("tiny");
  EXPECT_TRUE(config.ok()) << config.status();
  VideoModel::Options options;
  options.config = *config;
  options.device = "cpu";
  absl::StatusOr<std::unique_ptr<VideoModel>> model = VideoModel::Create(options);
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

VideoClip Clip(int frames, int height, int width) {
  VideoClip clip;
  clip.frames = frames;
  clip.height = height;
  clip.width = width;
  clip.rgb.assign(clip.NumBytes(), 100);
  return clip;
}

GenerationParams Params(int steps, int height = 16) {
  GenerationParams params;
  params.prompt = "test";
  params.frames = 1;
  params.height = height;
  params.width = 16;
  params.steps = steps;
  params.seed = 3;
  return params;
}

// Collects one task's completion.
struct Completion {
  absl::Notification done;
  absl::Status status;
  TaskTimings timings;
};

class RecordingObserver : public GenerationObserver {
 public:
  void OnQueued(int position) override { queue_position = position; }
  void OnProgress(int64_t step, int64_t, int batch_size) override {
    steps.store(step);
    absl::MutexLock lock(&mu);
    batch_sizes.push_back(batch_size);
  }
  void OnDone(absl::StatusOr<GenerationResult> result) override {
    status = result.status();
    if (result.ok()) max_batch_size = result->max_batch_size;
    done.Notify();
  }
  bool IsCancelled() const override { return cancelled.load(); }

  int queue_position = -1;
  std::atomic<int64_t> steps{0};
  std::atomic<bool> cancelled{false};
  absl::Mutex mu;
  std::vector<int> batch_sizes;
  absl::Status status;
  int max_batch_size = 0;
  absl::Notification done;
};

class SchedulerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Scheduler> Make(Scheduler::Options options) {
    auto metrics = Metrics::Create({});
    metrics_ = std::move(*metrics);
    auto scheduler = Scheduler::Create(options, TinyModel(), metrics_.get());
    EXPECT_TRUE(scheduler.ok()) << scheduler.status();
    return std::move(*scheduler);
  }

  EncodeTask Encode(VideoClip clip, Completion* completion) {
    EncodeTask task;
    task.clip = std::move(clip);
    task.done = [completion](absl::StatusOr<Latent> latent, const TaskTimings& timings) {
      completion->status = latent.status();
      completion->timings = timings;
      completion->done.Notify();
    };
    return task;
  }

  std::unique_ptr<Metrics> metrics_;
};

// The warm-up runs every batch size it is asked for at the default clip shape (on the CPU
// too, when asked), including multi-step generations, and leaves the scheduler serving.
TEST_F(SchedulerTest, WarmupRunsEachBatchSizeThenServes) {
  auto scheduler = Make({.max_batch_size = 3, .max_queue_delay_us = 1000,
                         .max_active_generations = 2});
  ASSERT_TRUE(scheduler->Warmup(/*max_batch=*/3).ok());
  scheduler->Start();
  Completion completion;
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &completion)).ok());
  completion.done.WaitForNotification();
  EXPECT_TRUE(completion.status.ok()) << completion.status;
}

TEST_F(SchedulerTest, MergesSameShapeRequestsIntoOneBatch) {
  auto scheduler = Make({.max_batch_size = 8, .max_queue_delay_us = 500'000});
  scheduler->Start();
  Completion c[3];
  for (Completion& completion : c) {
    ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &completion)).ok());
  }
  for (Completion& completion : c) {
    completion.done.WaitForNotification();
    EXPECT_TRUE(completion.status.ok()) << completion.status;
    EXPECT_EQ(completion.timings.batch_size, 3);
  }
}

TEST_F(SchedulerTest, RespectsMaxBatchSize) {
  auto scheduler = Make({.max_batch_size = 2, .max_queue_delay_us = 200'000});
  scheduler->Start();
  Completion c[5];
  for (Completion& completion : c) {
    ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &completion)).ok());
  }
  std::vector<int> sizes;
  for (Completion& completion : c) {
    completion.done.WaitForNotification();
    sizes.push_back(completion.timings.batch_size);
  }
  EXPECT_THAT(sizes, ElementsAre(2, 2, 2, 2, 1));
}

TEST_F(SchedulerTest, SeparatesDifferentShapes) {
  auto scheduler = Make({.max_batch_size = 8, .max_queue_delay_us = 100'000});
  scheduler->Start();
  Completion small, large;
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &small)).ok());
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 32, 16), &large)).ok());
  small.done.WaitForNotification();
  large.done.WaitForNotification();
  EXPECT_EQ(small.timings.batch_size, 1);
  EXPECT_EQ(large.timings.batch_size, 1);
}

TEST_F(SchedulerTest, DecodesWithDifferentDecodersAreNotMerged) {
  auto scheduler = Make({.max_batch_size = 8, .max_queue_delay_us = 100'000});
  const int64_t channels = scheduler->model_info().config.vae.latent_channels;
  scheduler->Start();
  Completion full, thin;
  for (auto [decoder, completion] :
       {std::pair{DecoderKind::kFull, &full}, std::pair{DecoderKind::kThin, &thin}}) {
    DecodeTask task;
    task.latent.shape = {channels, 1, 2, 2};
    task.latent.data.assign(channels * 4, 0.1f);
    task.decoder = decoder;
    task.done = [completion = completion](absl::StatusOr<VideoClip> video, const TaskTimings& t) {
      completion->status = video.status();
      completion->timings = t;
      completion->done.Notify();
    };
    ASSERT_TRUE(scheduler->SubmitDecode(std::move(task)).ok());
  }
  full.done.WaitForNotification();
  thin.done.WaitForNotification();
  EXPECT_TRUE(full.status.ok() && thin.status.ok());
  EXPECT_EQ(full.timings.batch_size, 1);
  EXPECT_EQ(thin.timings.batch_size, 1);
}

TEST_F(SchedulerTest, FlushesALoneRequestAfterMaxQueueDelay) {
  auto scheduler = Make({.max_batch_size = 8, .max_queue_delay_us = 100'000});
  scheduler->Start();
  Completion c;
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &c)).ok());
  c.done.WaitForNotification();
  EXPECT_TRUE(c.status.ok());
  EXPECT_GE(c.timings.queue_seconds, 0.099);  // waited for mates, then went alone
  EXPECT_EQ(c.timings.batch_size, 1);
}

TEST_F(SchedulerTest, ExpiredDeadlineIsReportedWithoutCompute) {
  auto scheduler = Make({.max_batch_size = 8, .max_queue_delay_us = 0});
  scheduler->Start();
  Completion c;
  EncodeTask task = Encode(Clip(1, 16, 16), &c);
  task.deadline = absl::Now() - absl::Seconds(1);
  ASSERT_TRUE(scheduler->SubmitEncode(std::move(task)).ok());
  c.done.WaitForNotification();
  EXPECT_EQ(c.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(c.timings.batch_size, 0);
}

TEST_F(SchedulerTest, ConcurrentGenerationsShareDenoiseSteps) {
  auto scheduler = Make({.max_batch_size = 8});
  RecordingObserver a, b;
  GenerateTask task_a{Params(3), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &a};
  GenerateTask task_b{Params(3), DecoderKind::kThin, 24.0, absl::InfiniteFuture(), &b};
  // Both are queued before the worker starts, so they are admitted in the same round.
  ASSERT_TRUE(scheduler->SubmitGenerate(task_a).ok());
  ASSERT_TRUE(scheduler->SubmitGenerate(task_b).ok());
  EXPECT_EQ(a.queue_position, 0);
  EXPECT_EQ(b.queue_position, 1);
  scheduler->Start();
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_TRUE(a.status.ok()) << a.status;
  EXPECT_TRUE(b.status.ok()) << b.status;
  EXPECT_THAT(a.batch_sizes, ElementsAre(2, 2, 2));
  EXPECT_EQ(a.max_batch_size, 2);
  EXPECT_EQ(b.max_batch_size, 2);
}

TEST_F(SchedulerTest, DifferentShapesRunInSeparateDenoiseBatches) {
  auto scheduler = Make({.max_batch_size = 8});
  RecordingObserver a, b;
  ASSERT_TRUE(
      scheduler
          ->SubmitGenerate({Params(2, 16), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &a})
          .ok());
  ASSERT_TRUE(
      scheduler
          ->SubmitGenerate({Params(2, 32), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &b})
          .ok());
  scheduler->Start();
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_THAT(a.batch_sizes, ElementsAre(1, 1));
  EXPECT_THAT(b.batch_sizes, ElementsAre(1, 1));
}

TEST_F(SchedulerTest, MaxActiveGenerationsBoundsTheDenoiseBatch) {
  auto scheduler = Make({.max_batch_size = 8, .max_active_generations = 1});
  RecordingObserver a, b;
  ASSERT_TRUE(
      scheduler->SubmitGenerate({Params(2), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &a})
          .ok());
  ASSERT_TRUE(
      scheduler->SubmitGenerate({Params(2), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &b})
          .ok());
  scheduler->Start();
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_EQ(a.max_batch_size, 1);
  EXPECT_EQ(b.max_batch_size, 1);
}

TEST_F(SchedulerTest, CancelledGenerationLeavesAtTheNextStepBoundary) {
  auto scheduler = Make({});
  RecordingObserver observer;
  ASSERT_TRUE(scheduler
                  ->SubmitGenerate({Params(100, 64), DecoderKind::kFull, 24.0,
                                    absl::InfiniteFuture(), &observer})
                  .ok());
  scheduler->Start();
  while (observer.steps.load() < 2) absl::SleepFor(absl::Milliseconds(1));
  observer.cancelled.store(true);
  observer.done.WaitForNotification();
  EXPECT_EQ(observer.status.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(observer.steps.load(), 100);
}

TEST_F(SchedulerTest, EncodeIsServedWhileALongGenerationRuns) {
  auto scheduler = Make({.max_queue_delay_us = 0});
  RecordingObserver observer;
  ASSERT_TRUE(scheduler
                  ->SubmitGenerate({Params(100, 64), DecoderKind::kFull, 24.0,
                                    absl::InfiniteFuture(), &observer})
                  .ok());
  scheduler->Start();
  while (observer.steps.load() < 1) absl::SleepFor(absl::Milliseconds(1));
  Completion c;
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &c)).ok());
  c.done.WaitForNotification();
  EXPECT_TRUE(c.status.ok());
  // Fair interleaving: the encode did not wait for the 100 steps.
  EXPECT_LT(observer.steps.load(), 100);
  EXPECT_FALSE(observer.done.HasBeenNotified());
  observer.cancelled.store(true);
  observer.done.WaitForNotification();
}

TEST_F(SchedulerTest, FullGenerateQueueIsResourceExhausted) {
  auto scheduler = Make({.max_queue_size = 1});
  RecordingObserver a, b;
  ASSERT_TRUE(
      scheduler->SubmitGenerate({Params(1), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &a})
          .ok());
  absl::Status status =
      scheduler->SubmitGenerate({Params(1), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &b});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "generate queue is full (max_queue_size 1)");
  scheduler->Start();
  a.done.WaitForNotification();
  EXPECT_FALSE(b.done.HasBeenNotified());  // refused tasks get no completion call
}

TEST_F(SchedulerTest, StopAcceptingRefusesNewWorkAsDraining) {
  auto scheduler = Make({});
  scheduler->Start();
  scheduler->StopAccepting();
  Completion c;
  absl::Status status = scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &c));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "server is draining");
  EXPECT_TRUE(scheduler->WaitIdle(absl::Now() + absl::Seconds(1)));
}

TEST_F(SchedulerTest, DrainingFlushesQueuedWorkWithoutWaitingForTheDelay) {
  auto scheduler = Make({.max_queue_delay_us = 10'000'000});
  scheduler->Start();
  Completion c;
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &c)).ok());
  scheduler->StopAccepting();
  EXPECT_TRUE(scheduler->WaitIdle(absl::Now() + absl::Seconds(5)));
  EXPECT_TRUE(c.status.ok());
}

TEST_F(SchedulerTest, StopFailsWorkThatNeverRanWithUnavailable) {
  auto scheduler = Make({});  // never started: nothing runs
  Completion c;
  RecordingObserver observer;
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &c)).ok());
  ASSERT_TRUE(
      scheduler
          ->SubmitGenerate({Params(1), DecoderKind::kFull, 24.0, absl::InfiniteFuture(), &observer})
          .ok());
  EXPECT_FALSE(scheduler->WaitIdle(absl::Now() + absl::Milliseconds(10)));
  scheduler->Stop();
  ASSERT_TRUE(c.done.HasBeenNotified());
  EXPECT_EQ(c.status.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(observer.done.HasBeenNotified());
  EXPECT_EQ(observer.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(scheduler->WaitIdle(absl::Now()));
}

TEST_F(SchedulerTest, ModelErrorFailsOnlyThatRequest) {
  auto scheduler = Make({.max_batch_size = 8, .max_queue_delay_us = 0});
  scheduler->Start();
  // A latent with the wrong channel count bypasses request validation here; the model
  // rejects it, and the scheduler keeps serving.
  Completion bad, good;
  DecodeTask task;
  task.latent.shape = {3, 1, 2, 2};
  task.latent.data.assign(12, 0.f);
  task.done = [&bad](absl::StatusOr<VideoClip> video, const TaskTimings&) {
    bad.status = video.status();
    bad.done.Notify();
  };
  ASSERT_TRUE(scheduler->SubmitDecode(std::move(task)).ok());
  bad.done.WaitForNotification();
  EXPECT_FALSE(bad.status.ok());
  ASSERT_TRUE(scheduler->SubmitEncode(Encode(Clip(1, 16, 16), &good)).ok());
  good.done.WaitForNotification();
  EXPECT_TRUE(good.status.ok()) << good.status;
}

}  // namespace
}  // namespace vidserve

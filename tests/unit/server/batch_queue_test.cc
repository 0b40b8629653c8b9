#include "server/batch_queue.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vidserve {
namespace {

using ::testing::ElementsAre;

BatchQueue<int>::Options MakeOptions(int max_batch_size, int64_t delay_us,
                                     int max_queue_size = 64) {
  BatchQueue<int>::Options options;
  options.name = "encode";
  options.max_batch_size = max_batch_size;
  options.max_queue_delay_us = delay_us;
  options.max_queue_size = max_queue_size;
  return options;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(BatchQueue, MergesSameShapeRequestsIntoOneBatch) {
  BatchQueue<int> queue(MakeOptions(8, 1000));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue.Push("17x64x64", i, kT0).ok());
  EXPECT_TRUE(queue.PopReadyBatch(kT0 + absl::Microseconds(999)).empty());  // still waiting
  EXPECT_THAT(queue.PopReadyBatch(kT0 + absl::Microseconds(1000)), ElementsAre(0, 1, 2));
  EXPECT_TRUE(queue.empty());
}

TEST(BatchQueue, SeparatesDifferentShapes) {
  BatchQueue<int> queue(MakeOptions(8, 0));
  ASSERT_TRUE(queue.Push("a", 1, kT0).ok());
  ASSERT_TRUE(queue.Push("b", 2, kT0).ok());
  ASSERT_TRUE(queue.Push("a", 3, kT0).ok());
  EXPECT_THAT(queue.PopReadyBatch(kT0), ElementsAre(1, 3));  // the oldest task's shape first
  EXPECT_THAT(queue.PopReadyBatch(kT0), ElementsAre(2));
  EXPECT_TRUE(queue.PopReadyBatch(kT0).empty());
}

TEST(BatchQueue, RespectsMaxBatchSize) {
  BatchQueue<int> queue(MakeOptions(2, 1'000'000));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.Push("a", i, kT0).ok());
  // Full batches are ready without waiting; the remainder waits for its delay.
  EXPECT_THAT(queue.PopReadyBatch(kT0), ElementsAre(0, 1));
  EXPECT_THAT(queue.PopReadyBatch(kT0), ElementsAre(2, 3));
  EXPECT_TRUE(queue.PopReadyBatch(kT0).empty());
  EXPECT_THAT(queue.PopReadyBatch(kT0 + absl::Seconds(1)), ElementsAre(4));
}

TEST(BatchQueue, FullBatchOfAnotherShapeDoesNotWaitBehindAnOlderPartialOne) {
  BatchQueue<int> queue(MakeOptions(2, 1'000'000));
  ASSERT_TRUE(queue.Push("a", 1, kT0).ok());
  ASSERT_TRUE(queue.Push("b", 2, kT0).ok());
  ASSERT_TRUE(queue.Push("b", 3, kT0).ok());
  EXPECT_THAT(queue.PopReadyBatch(kT0), ElementsAre(2, 3));
}

TEST(BatchQueue, FlushesAfterMaxQueueDelay) {
  BatchQueue<int> queue(MakeOptions(8, 2000));
  ASSERT_TRUE(queue.Push("a", 1, kT0).ok());
  ASSERT_TRUE(queue.Push("a", 2, kT0 + absl::Microseconds(1500)).ok());
  ASSERT_EQ(queue.NextFlushTime(), kT0 + absl::Microseconds(2000));  // from the OLDEST task
  EXPECT_TRUE(queue.PopReadyBatch(kT0 + absl::Microseconds(1999)).empty());
  EXPECT_THAT(queue.PopReadyBatch(kT0 + absl::Microseconds(2000)), ElementsAre(1, 2));
  EXPECT_EQ(queue.NextFlushTime(), std::nullopt);
}

TEST(BatchQueue, ZeroDelayNeverWaits) {
  BatchQueue<int> queue(MakeOptions(8, 0));
  ASSERT_TRUE(queue.Push("a", 1, kT0).ok());
  EXPECT_THAT(queue.PopReadyBatch(kT0), ElementsAre(1));
}

TEST(BatchQueue, FlushIgnoresTheDelay) {
  BatchQueue<int> queue(MakeOptions(8, 1'000'000));
  ASSERT_TRUE(queue.Push("a", 1, kT0).ok());
  EXPECT_TRUE(queue.PopReadyBatch(kT0).empty());
  EXPECT_THAT(queue.PopReadyBatch(kT0, /*flush=*/true), ElementsAre(1));
}

TEST(BatchQueue, RejectsWhenFullNamingTheQueueAndItsSize) {
  BatchQueue<int> queue(MakeOptions(8, 1000, /*max_queue_size=*/2));
  ASSERT_TRUE(queue.Push("a", 1, kT0).ok());
  ASSERT_TRUE(queue.Push("a", 2, kT0).ok());
  absl::Status status = queue.Push("a", 3, kT0);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "encode queue is full (max_queue_size 2)");
  EXPECT_EQ(queue.size(), 2);
}

TEST(BatchQueue, TakeAllEmptiesInArrivalOrder) {
  BatchQueue<int> queue(MakeOptions(8, 1000));
  ASSERT_TRUE(queue.Push("b", 1, kT0).ok());
  ASSERT_TRUE(queue.Push("a", 2, kT0).ok());
  EXPECT_THAT(queue.TakeAll(), ElementsAre(1, 2));
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.PopReadyBatch(kT0, true).empty());
}

}  // namespace
}  // namespace vidserve

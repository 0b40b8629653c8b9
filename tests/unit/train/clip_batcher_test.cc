#include "train/clip_batcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "data/synthetic_clip_folder.h"

namespace vidserve::train {
namespace {

DataOptions SmallClips(int loader_threads) {
  DataOptions d;
  d.frames = 5;
  d.height = 32;
  d.width = 32;
  d.loader_threads = loader_threads;
  return d;
}

TEST(TrainSeedTest, NeverHeldOutAndDistinct) {
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 5000; ++i) {
    const uint64_t seed = TrainSeed(i);
    EXPECT_FALSE(data::IsHeldOut(seed)) << i;
    EXPECT_TRUE(seen.insert(seed).second) << "clip " << i << " repeats seed " << seed;
  }
  for (uint64_t held_out : data::HeldOutSeeds(50)) EXPECT_EQ(seen.count(held_out), 0u);
}

TEST(ClipBatcherTest, BatchesDependOnlyOnTheirIndex) {
  auto one_thread = ClipBatcher::Create(SmallClips(1), 3, 0);
  auto four_threads = ClipBatcher::Create(SmallClips(4), 3, 0);
  ASSERT_TRUE(one_thread.ok() && four_threads.ok());
  auto a0 = (*one_thread)->Next(), a1 = (*one_thread)->Next();
  auto b0 = (*four_threads)->Next(), b1 = (*four_threads)->Next();
  ASSERT_TRUE(a0.ok() && a1.ok() && b0.ok() && b1.ok());
  EXPECT_EQ(a0->pixels.sizes(), (std::vector<int64_t>{3, 3, 5, 32, 32}));
  EXPECT_TRUE(torch::equal(a0->pixels, b0->pixels));
  EXPECT_TRUE(torch::equal(a1->pixels, b1->pixels));
  EXPECT_EQ(a1->captions, b1->captions);
  EXPECT_FALSE(torch::equal(a0->pixels, a1->pixels));
  EXPECT_GE(a0->pixels.min().item<float>(), -1.0f);
  EXPECT_LE(a0->pixels.max().item<float>(), 1.0f);
  // Seek (as a resumed run does) lands on the same batch.
  (*four_threads)->Seek(1);
  auto again = (*four_threads)->Next();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(torch::equal(again->pixels, a1->pixels));
  auto built = (*one_thread)->Build(1);
  ASSERT_TRUE(built.ok());
  EXPECT_TRUE(torch::equal(built->pixels, a1->pixels));
}

TEST(ClipBatcherTest, FirstClipShiftsTheRunAlongTheSource) {
  DataOptions shifted = SmallClips(2);
  shifted.first_clip = 3;  // one batch of 3 further on
  auto from_zero = ClipBatcher::Create(SmallClips(2), 3, 0);
  auto from_three = ClipBatcher::Create(shifted, 3, 0);
  ASSERT_TRUE(from_zero.ok() && from_three.ok());
  auto zero_0 = (*from_zero)->Build(0), zero_1 = (*from_zero)->Build(1);
  auto three_0 = (*from_three)->Next();
  ASSERT_TRUE(zero_0.ok() && zero_1.ok() && three_0.ok());
  EXPECT_TRUE(torch::equal(three_0->pixels, zero_1->pixels));
  EXPECT_EQ(three_0->captions, zero_1->captions);
  EXPECT_FALSE(torch::equal(three_0->pixels, zero_0->pixels));
}

TEST(ClipBatcherTest, ReadsAFolderOfCaptionedClipsInEpochPermutations) {
  const std::string dir = ::testing::TempDir() + "/clip_batcher_folder";
  std::filesystem::remove_all(dir);
  data::SyntheticClipFolderOptions synthetic;
  synthetic.clip.frames = 5;
  synthetic.clip.height = 32;
  synthetic.clip.width = 32;
  ASSERT_TRUE(data::WriteSyntheticClipFolder(dir, {1, 2, 3}, synthetic).ok());
  DataOptions d = SmallClips(2);
  d.clip_folder = dir;
  auto batcher = ClipBatcher::Create(d, 3, 7);
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  EXPECT_EQ((*batcher)->source_size(), 3);
  auto epoch0 = (*batcher)->Next();
  ASSERT_TRUE(epoch0.ok()) << epoch0.status();
  // One epoch visits every clip once.
  std::set<std::string> captions(epoch0->captions.begin(), epoch0->captions.end());
  EXPECT_EQ(captions.size(), 3u);
}

TEST(ClipBatcherTest, RejectsAMissingFolder) {
  DataOptions d = SmallClips(1);
  d.clip_folder = "/nonexistent/clips";
  auto batcher = ClipBatcher::Create(d, 2, 0);
  EXPECT_FALSE(batcher.ok());
  EXPECT_THAT(std::string(batcher.status().message()), ::testing::HasSubstr("/nonexistent/clips"));
}

}  // namespace
}  // namespace vidserve::train

#include "data/clip_folder_dataset.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "data/clip_detector.h"
#include "data/synthetic_clip_folder.h"
#include "data/synthetic_clip_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media/video_file.h"

namespace vidserve::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh, empty directory for the running test.
std::string FreshDir() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir =
      fs::path(::testing::TempDir()) /
      (std::string("vidserve_data_") + info->test_suite_name() + "_" + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Writes seed's clip as dir/name.y4m with its caption (plus a trailing newline, as editors
// leave) in dir/name.txt.
void WriteCaptionedClip(const std::string& dir, const std::string& name, uint64_t seed,
                        const SyntheticClipOptions& options = {}) {
  const ClipSpec spec = SampleSpec(seed, options);
  ASSERT_TRUE(media::WriteVideoFile(dir + "/" + name + ".y4m", Render(spec)).ok());
  WriteText(dir + "/" + name + ".txt", Caption(spec) + "\n");
}

TEST(ClipFolderDataset, ReadsClipsAndCaptionsInSortedOrder) {
  const std::string dir = FreshDir();
  WriteCaptionedClip(dir, "b", 2);
  WriteCaptionedClip(dir, "a", 1);
  WriteCaptionedClip(dir, "c", 3);
  WriteText(dir + "/notes.md", "not a clip");
  absl::StatusOr<std::unique_ptr<ClipFolderDataset>> ds = ClipFolderDataset::Create(dir, {});
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 3);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<CaptionedClip> clip = (*ds)->Get(i);
    ASSERT_TRUE(clip.ok()) << clip.status();
    EXPECT_EQ(fs::path(clip->path).filename().string(), std::string(1, char('a' + i)) + ".y4m");
    EXPECT_EQ(clip->caption, Caption(SampleSpec(i + 1)));  // newline stripped
    EXPECT_EQ(clip->video.frames, 17);
    EXPECT_EQ(clip->video.height, 64);
    EXPECT_EQ(clip->video.width, 64);
  }
}

TEST(ClipFolderDataset, MissingCaptionFailsCreateNamingTheClip) {
  const std::string dir = FreshDir();
  WriteCaptionedClip(dir, "a", 1);
  ASSERT_TRUE(media::WriteVideoFile(dir + "/lonely.y4m", Render(SampleSpec(2))).ok());
  const absl::Status s = ClipFolderDataset::Create(dir, {}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("lonely.y4m"));
  EXPECT_THAT(s.message(), HasSubstr("lonely.txt"));
}

TEST(ClipFolderDataset, UnreadableClipAndEmptyCaptionAreErrorsNamingTheFile) {
  const std::string dir = FreshDir();
  WriteText(dir + "/broken.y4m", "this is not a y4m file");
  WriteText(dir + "/broken.txt", "a red circle");
  WriteCaptionedClip(dir, "empty", 1);
  WriteText(dir + "/empty.txt", " \n");
  absl::StatusOr<std::unique_ptr<ClipFolderDataset>> ds = ClipFolderDataset::Create(dir, {});
  ASSERT_TRUE(ds.ok()) << ds.status();
  const absl::Status broken = (*ds)->Get(0).status();
  EXPECT_FALSE(broken.ok());
  EXPECT_THAT(broken.message(), HasSubstr("broken.y4m"));
  const absl::Status empty = (*ds)->Get(1).status();
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(), HasSubstr("empty.txt"));
  EXPECT_EQ((*ds)->Get(2).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ClipFolderDataset, ResizesAndTrimsToFourKPlusOneFrames) {
  const std::string dir = FreshDir();
  SyntheticClipOptions options;
  options.frames = 20;
  options.height = 48;
  options.width = 96;
  WriteCaptionedClip(dir, "wide", 5, options);
  ClipFolderDataset::Options load;
  load.target_height = 32;
  load.target_width = 32;
  absl::StatusOr<std::unique_ptr<ClipFolderDataset>> ds = ClipFolderDataset::Create(dir, load);
  ASSERT_TRUE(ds.ok()) << ds.status();
  absl::StatusOr<CaptionedClip> clip = (*ds)->Get(0);
  ASSERT_TRUE(clip.ok()) << clip.status();
  EXPECT_EQ(clip->video.frames, 17);
  EXPECT_EQ(clip->video.height, 32);
  EXPECT_EQ(clip->video.width, 32);
  EXPECT_EQ(clip->video.rgb.size(), clip->video.ExpectedBytes());

  load.max_frames = 9;
  ds = ClipFolderDataset::Create(dir, load);
  ASSERT_TRUE(ds.ok()) << ds.status();
  clip = (*ds)->Get(0);
  ASSERT_TRUE(clip.ok()) << clip.status();
  EXPECT_EQ(clip->video.frames, 9);
}

TEST(ClipFolderDataset, RejectsMissingEmptyFoldersAndHalfSetTargets) {
  const std::string dir = FreshDir();
  EXPECT_EQ(ClipFolderDataset::Create(dir + "/nope", {}).status().code(),
            absl::StatusCode::kNotFound);
  const absl::Status empty = ClipFolderDataset::Create(dir, {}).status();
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(), HasSubstr(dir));
  ClipFolderDataset::Options half;
  half.target_height = 32;
  EXPECT_EQ(ClipFolderDataset::Create(dir, half).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The whole path a training or evaluation run takes: generated clips written to disk,
// loaded back, and their captions still describing what the detector sees.
void ExpectSyntheticFolderRoundTrip(const std::string& dir, const std::string& extension) {
  SyntheticClipFolderOptions write;
  write.clip.max_objects = 1;
  write.extension = extension;
  const std::vector<uint64_t> seeds = HeldOutSeeds(8);
  ASSERT_TRUE(WriteSyntheticClipFolder(dir, seeds, write).ok());
  absl::StatusOr<std::unique_ptr<ClipFolderDataset>> ds = ClipFolderDataset::Create(dir, {});
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 8);
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<CaptionedClip> clip = (*ds)->Get(i);
    ASSERT_TRUE(clip.ok()) << clip.status();
    EXPECT_EQ(clip->caption, Caption(SampleSpec(seeds[i], write.clip)));  // seed order
    absl::StatusOr<ClipDetection> d = DetectClip(clip->video);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(Score(*d, ParseCaption(clip->caption)).colour_correct, true) << clip->caption;
  }
}

TEST(ClipFolderDataset, LoadsWrittenSyntheticY4mFolder) {
  ExpectSyntheticFolderRoundTrip(FreshDir(), ".y4m");
}

TEST(ClipFolderDataset, LoadsWrittenSyntheticMp4FolderWhenBuiltWithLibav) {
  if (!media::HaveMp4Support()) GTEST_SKIP() << "built without libav";
  ExpectSyntheticFolderRoundTrip(FreshDir(), ".mp4");
}

TEST(ClipFolderDataset, CaptionPathReplacesTheExtension) {
  EXPECT_EQ(CaptionPathFor("/d/clip.01.mp4"), "/d/clip.01.txt");
}

}  // namespace
}  // namespace vidserve::data

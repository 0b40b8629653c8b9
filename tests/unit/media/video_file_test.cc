#include "media/video_file.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/media/test_util.h"
#ifdef VIDSERVE_HAVE_FFMPEG
#include "media/mp4_io.h"
#endif

namespace vidserve::media {
namespace {

using ::testing::HasSubstr;
using testing::MeanAbsDiff;
using testing::SmoothClip;
using testing::TempPath;

TEST(VideoFile, DispatchesY4mByExtensionCaseInsensitively) {
  const VideoFrames clip = SmoothClip(2, 16, 16);
  const std::string path = TempPath("clip.Y4M");
  ASSERT_TRUE(WriteVideoFile(path, clip).ok());
  absl::StatusOr<VideoFrames> back = ReadVideoFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->frames, 2);
}

TEST(VideoFile, RejectsUnknownExtensionNamingIt) {
  absl::Status s = WriteVideoFile(TempPath("clip.avi"), SmoothClip(1, 16, 16));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unsupported video extension '.avi'"));
  EXPECT_THAT(ReadVideoFile("noext").status().message(), HasSubstr("extension ''"));
}

#ifdef VIDSERVE_HAVE_FFMPEG
TEST(VideoFile, Mp4RoundTripIsCloseAndKeepsShapeAndRate) {
  const VideoFrames clip = SmoothClip(9, 32, 48, 25.0);
  const std::string path = TempPath("clip.mp4");
  ASSERT_TRUE(WriteVideoFile(path, clip).ok());
  absl::StatusOr<VideoFrames> back = ReadVideoFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->frames, 9);
  EXPECT_EQ(back->height, 32);
  EXPECT_EQ(back->width, 48);
  EXPECT_NEAR(back->fps, 25.0, 0.01);
  EXPECT_LT(MeanAbsDiff(clip, *back), 6.0);
}

TEST(VideoFile, Mp4WithMpeg4CodecAlsoRoundTrips) {
  const VideoFrames clip = SmoothClip(5, 32, 32);
  const std::string path = TempPath("mpeg4.mp4");
  ASSERT_TRUE(WriteMp4(path, clip, {.codec = "mpeg4"}).ok());
  absl::StatusOr<VideoFrames> back = ReadMp4(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->frames, 5);
  EXPECT_LT(MeanAbsDiff(clip, *back), 8.0);
}

TEST(VideoFile, Mp4RejectsOddSizes) {
  absl::Status s = WriteVideoFile(TempPath("odd.mp4"), SmoothClip(1, 15, 16));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("even width and height"));
}

TEST(VideoFile, Mp4ReadOfNonVideoFails) {
  const std::string path = TempPath("fake.mp4");
  ASSERT_TRUE(WriteVideoFile(TempPath("x.y4m"), SmoothClip(1, 16, 16)).ok());
  FILE* f = fopen(path.c_str(), "wb");
  fputs("this is not an mp4", f);
  fclose(f);
  absl::StatusOr<VideoFrames> v = ReadVideoFile(path);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr(path));
}
#else
TEST(VideoFile, Mp4WithoutLibavIsAClearError) {
  absl::Status s = WriteVideoFile(TempPath("clip.mp4"), SmoothClip(1, 16, 16));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("not compiled in"));
}
#endif

}  // namespace
}  // namespace vidserve::media

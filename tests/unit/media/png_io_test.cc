// media/png_io.h exists only in builds with libav; without it this file has no tests.
#ifdef VIDSERVE_HAVE_FFMPEG
#include "media/png_io.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media/file_util.h"
#include "tests/unit/media/test_util.h"

namespace vidserve::media {
namespace {

using ::testing::HasSubstr;
using testing::SmoothClip;
using testing::TempPath;

TEST(Png, RoundTripIsPixelExactForOddSizes) {
  const VideoFrames image = SmoothClip(1, 13, 31);  // odd sizes: no chroma constraint
  const std::string path = TempPath("image.png");
  ASSERT_TRUE(WritePng(path, image).ok());
  absl::StatusOr<VideoFrames> back = ReadPng(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->frames, 1);
  EXPECT_EQ(back->height, 13);
  EXPECT_EQ(back->width, 31);
  EXPECT_TRUE(back->rgb == image.rgb);
  std::remove(path.c_str());
}

TEST(Png, WritesFrameZeroOfAClip) {
  const VideoFrames clip = SmoothClip(3, 16, 16);
  const std::string path = TempPath("clip.png");
  ASSERT_TRUE(WritePng(path, clip).ok());
  absl::StatusOr<VideoFrames> back = ReadPng(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(std::equal(back->rgb.begin(), back->rgb.end(), clip.Frame(0)));
  std::remove(path.c_str());
}

TEST(Png, RejectsInconsistentImagesAndUndecodableFiles) {
  VideoFrames broken = SmoothClip(1, 8, 8);
  broken.rgb.resize(5);
  absl::Status s = WritePng(TempPath("broken.png"), broken);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("5 bytes"));

  EXPECT_EQ(ReadPng(TempPath("missing.png")).status().code(), absl::StatusCode::kNotFound);
  const std::string garbage = TempPath("garbage.png");
  ASSERT_TRUE(WriteWholeFile(garbage, "not a png at all").ok());
  EXPECT_EQ(ReadPng(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  std::remove(garbage.c_str());
}

}  // namespace
}  // namespace vidserve::media
#endif  // VIDSERVE_HAVE_FFMPEG

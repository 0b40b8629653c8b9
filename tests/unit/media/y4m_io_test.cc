#include "media/y4m_io.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/media/test_util.h"

namespace vidserve::media {
namespace {

using ::testing::HasSubstr;
using testing::MaxAbsDiff;
using testing::MeanAbsDiff;
using testing::SmoothClip;
using testing::TempPath;

TEST(Y4m, RoundTrip444IsNearlyExact) {
  const VideoFrames clip = SmoothClip(5, 32, 48, 30.0);
  const std::string path = TempPath("clip.y4m");
  ASSERT_TRUE(WriteY4m(path, clip, {Y4mChroma::k444}).ok());
  absl::StatusOr<VideoFrames> back = ReadY4m(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->frames, 5);
  EXPECT_EQ(back->height, 32);
  EXPECT_EQ(back->width, 48);
  EXPECT_DOUBLE_EQ(back->fps, 30.0);
  // Only 8-bit rounding of Y, Cb and Cr stands between the two.
  EXPECT_LE(MaxAbsDiff(clip, *back), 3);
}

TEST(Y4m, RoundTrip420IsCloseOnSmoothContent) {
  const VideoFrames clip = SmoothClip(3, 32, 32);
  absl::StatusOr<std::string> bytes = SerializeY4m(clip, {Y4mChroma::k420});
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(absl::StartsWith(*bytes, "YUV4MPEG2 W32 H32 F24:1 Ip A1:1 C420jpeg"));
  // 3 frames of "FRAME\n" + Y (32*32) + 2 quarter-size chroma planes.
  const size_t header = bytes->find('\n') + 1;
  EXPECT_EQ(bytes->size() - header, 3u * (6 + 32 * 32 + 2 * 16 * 16));
  absl::StatusOr<VideoFrames> back = ParseY4m(*bytes, "mem.y4m");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_LT(MeanAbsDiff(clip, *back), 2.0);
  EXPECT_LE(MaxAbsDiff(clip, *back), 12);
}

TEST(Y4m, OddSizes420KeepEveryPixel) {
  const VideoFrames clip = SmoothClip(2, 7, 9);
  absl::StatusOr<std::string> bytes = SerializeY4m(clip, {Y4mChroma::k420});
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<VideoFrames> back = ParseY4m(*bytes, "odd.y4m");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->height, 7);
  EXPECT_EQ(back->width, 9);
  // The gradient is steep at this size (about 20 levels per pixel), so 2x2 chroma
  // averaging costs more than on the 32x32 clip; the last row and column must still be
  // as good as the rest, which a mis-sized chroma plane would break.
  EXPECT_LT(MeanAbsDiff(clip, *back), 8.0);
}

TEST(Y4m, NonIntegerFrameRateSurvives) {
  VideoFrames clip = SmoothClip(1, 16, 16, 30000.0 / 1001.0);
  absl::StatusOr<std::string> bytes = SerializeY4m(clip);
  ASSERT_TRUE(bytes.ok());
  EXPECT_THAT(*bytes, HasSubstr(" F30000:1001 "));
  absl::StatusOr<VideoFrames> back = ParseY4m(*bytes, "ntsc.y4m");
  ASSERT_TRUE(back.ok());
  EXPECT_NEAR(back->fps, 29.97, 0.001);
}

TEST(Y4m, HeaderWithoutColourspaceMeans420) {
  std::string data = "YUV4MPEG2 W2 H2 F25:1\nFRAME\n";
  data += std::string(4, '\x80') + std::string(2, '\x80');  // Y=128, gray
  absl::StatusOr<VideoFrames> v = ParseY4m(data, "plain.y4m");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->frames, 1);
  EXPECT_EQ(v->rgb[0], 128);
  EXPECT_DOUBLE_EQ(v->fps, 25.0);
}

TEST(Y4m, LimitedRangeIsExpandedWhenTagged) {
  std::string data = "YUV4MPEG2 W1 H1 F25:1 C444 XCOLORRANGE=LIMITED\nFRAME\n";
  data += std::string("\xeb\x80\x80", 3);  // Y=235 is white in limited range
  absl::StatusOr<VideoFrames> v = ParseY4m(data, "limited.y4m");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->rgb[0], 255);
}

TEST(Y4m, RejectsMissingSignatureNamingTheFile) {
  absl::StatusOr<VideoFrames> v = ParseY4m("RIFF....\n", "movie.avi");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("movie.avi"));
  EXPECT_THAT(v.status().message(), HasSubstr("not a YUV4MPEG2 file"));
}

TEST(Y4m, RejectsBadDimensions) {
  absl::StatusOr<VideoFrames> v = ParseY4m("YUV4MPEG2 W0 H16 C444\nFRAME\n", "zero.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("invalid width 'W0'"));
  v = ParseY4m("YUV4MPEG2 W16 C444\n", "noheight.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("lacks the W (width) or H (height)"));
}

TEST(Y4m, RejectsUnsupportedColourspace) {
  absl::StatusOr<VideoFrames> v = ParseY4m("YUV4MPEG2 W16 H16 C422\nFRAME\n", "c422.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("unsupported colourspace 'C422'"));
  v = ParseY4m("YUV4MPEG2 W16 H16 Ct C444\n", "interlaced.y4m");
  EXPECT_FALSE(v.ok());
}

TEST(Y4m, RejectsTruncatedFrameWithItsIndex) {
  absl::StatusOr<std::string> bytes = SerializeY4m(SmoothClip(3, 16, 16));
  ASSERT_TRUE(bytes.ok());
  bytes->resize(bytes->size() - 10);
  absl::StatusOr<VideoFrames> v = ParseY4m(*bytes, "cut.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("cut.y4m: truncated frame 2"));
}

TEST(Y4m, RejectsGarbageBetweenFrames) {
  absl::StatusOr<std::string> bytes = SerializeY4m(SmoothClip(1, 16, 16));
  ASSERT_TRUE(bytes.ok());
  *bytes += "JUNK\n";
  absl::StatusOr<VideoFrames> v = ParseY4m(*bytes, "junk.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("frame 1: expected a 'FRAME' marker"));
}

TEST(Y4m, RejectsHeaderOnlyFile) {
  absl::StatusOr<VideoFrames> v = ParseY4m("YUV4MPEG2 W16 H16 C444\n", "empty.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("no frames"));
}

TEST(Y4m, MissingFileIsNotFound) {
  absl::StatusOr<VideoFrames> v = ReadY4m("/nonexistent/dir/clip.y4m");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(v.status().message(), HasSubstr("/nonexistent/dir/clip.y4m"));
}

TEST(Y4m, WriterRejectsInconsistentVideo) {
  VideoFrames v = SmoothClip(2, 16, 16);
  v.rgb.pop_back();
  EXPECT_EQ(SerializeY4m(v).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vidserve::media

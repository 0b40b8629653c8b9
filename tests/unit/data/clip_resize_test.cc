#include "data/clip_resize.h"

#include "gtest/gtest.h"

namespace vidserve::data {
namespace {

// Pixel (x, y) of frame t has value (x, y, t) scaled into distinct bytes.
media::VideoFrames Ramp(int frames, int height, int width) {
  media::VideoFrames v;
  v.frames = frames;
  v.height = height;
  v.width = width;
  v.fps = 30;
  v.rgb.resize(v.ExpectedBytes());
  for (int t = 0; t < frames; ++t) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        uint8_t* p = v.Frame(t) + (static_cast<size_t>(y) * width + x) * 3;
        p[0] = static_cast<uint8_t>(x * 10);
        p[1] = static_cast<uint8_t>(y * 10);
        p[2] = static_cast<uint8_t>(t);
      }
    }
  }
  return v;
}

const uint8_t* At(const media::VideoFrames& v, int t, int y, int x) {
  return v.Frame(t) + (static_cast<size_t>(y) * v.width + x) * 3;
}

TEST(ClipResize, AreaHalvingAveragesTwoByTwoBlocks) {
  absl::StatusOr<media::VideoFrames> out = CropAndResize(Ramp(2, 4, 4), 2, 2, ResizeFilter::kArea);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->height, 2);
  EXPECT_EQ(out->width, 2);
  EXPECT_EQ(out->frames, 2);
  EXPECT_DOUBLE_EQ(out->fps, 30);
  EXPECT_EQ(At(*out, 1, 1, 0)[0], 5);   // mean of x*10 over x in {0, 1}
  EXPECT_EQ(At(*out, 1, 1, 0)[1], 25);  // mean of y*10 over y in {2, 3}
  EXPECT_EQ(At(*out, 1, 1, 0)[2], 1);
}

TEST(ClipResize, NearestKeepsExactSourceValues) {
  absl::StatusOr<media::VideoFrames> out =
      CropAndResize(Ramp(1, 4, 4), 2, 2, ResizeFilter::kNearest);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 2; ++x) {
      EXPECT_EQ(At(*out, 0, y, x)[0] % 10, 0);
      EXPECT_EQ(At(*out, 0, y, x)[1] % 10, 0);
    }
  }
}

TEST(ClipResize, CentreCropsToTheTargetAspectRatio) {
  // 4 rows x 8 columns to a square: columns 2..5 survive.
  absl::StatusOr<media::VideoFrames> out =
      CropAndResize(Ramp(1, 4, 8), 4, 4, ResizeFilter::kNearest);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(At(*out, 0, 0, 0)[0], 20);
  EXPECT_EQ(At(*out, 0, 0, 3)[0], 50);
}

TEST(ClipResize, RejectsBadTargetsAndInconsistentClips) {
  EXPECT_EQ(CropAndResize(Ramp(1, 4, 4), 0, 4, ResizeFilter::kArea).status().code(),
            absl::StatusCode::kInvalidArgument);
  media::VideoFrames broken = Ramp(2, 4, 4);
  broken.rgb.pop_back();
  const absl::Status s = CropAndResize(broken, 2, 2, ResizeFilter::kArea).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rgb bytes=95"), absl::string_view::npos) << s;
}

TEST(ClipResize, TrimKeepsTheLargestFourKPlusOnePrefix) {
  for (auto [in, want] : {std::pair{1, 1}, {4, 1}, {5, 5}, {17, 17}, {20, 17}, {33, 33}}) {
    absl::StatusOr<media::VideoFrames> out = TrimToFourKPlusOne(Ramp(in, 2, 2));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->frames, want) << in;
    EXPECT_EQ(out->rgb.size(), out->ExpectedBytes());
  }
  EXPECT_FALSE(TrimToFourKPlusOne(media::VideoFrames{}).ok());
}

}  // namespace
}  // namespace vidserve::data

#include "eval/video_quality.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vidserve::eval {
namespace {

media::VideoFrames Constant(int frames, int height, int width, uint8_t value) {
  media::VideoFrames v;
  v.frames = frames;
  v.height = height;
  v.width = width;
  v.rgb.assign(v.ExpectedBytes(), value);
  return v;
}

// A textured clip: smooth gradients plus a fine pattern, varying over time.
media::VideoFrames Textured(int frames, int height, int width) {
  media::VideoFrames v = Constant(frames, height, width, 0);
  for (int t = 0; t < frames; ++t) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        uint8_t* p = v.Frame(t) + (static_cast<size_t>(y) * width + x) * 3;
        p[0] = static_cast<uint8_t>(40 + 3 * x + 2 * t);
        p[1] = static_cast<uint8_t>(40 + 3 * y);
        p[2] = static_cast<uint8_t>(((x / 4 + y / 4 + t) % 2) ? 200 : 60);
      }
    }
  }
  return v;
}

// Adds deterministic uniform noise in [-amplitude, amplitude], clamped to [0, 255].
media::VideoFrames WithNoise(media::VideoFrames v, int amplitude, uint64_t seed) {
  uint64_t state = seed;
  for (uint8_t& value : v.rgb) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const int noise = static_cast<int>((state >> 33) % (2 * amplitude + 1)) - amplitude;
    value = static_cast<uint8_t>(std::clamp(static_cast<int>(value) + noise, 0, 255));
  }
  return v;
}

TEST(Psnr, ConstantOffsetGivesTwentyLogOfPeakOverOffset) {
  // MSE = 5^2 everywhere, so PSNR = 10 log10(255^2 / 25) = 20 log10(51).
  absl::StatusOr<double> psnr = Psnr(Constant(3, 16, 16, 100), Constant(3, 16, 16, 105));
  ASSERT_TRUE(psnr.ok()) << psnr.status();
  EXPECT_NEAR(*psnr, 20 * std::log10(51.0), 1e-12);
  EXPECT_NEAR(*psnr, 34.151, 1e-3);
}

TEST(Psnr, PoolsTheErrorOverAllFramesRatherThanAveragingPerFramePsnr) {
  // Frame 0 is exact, frame 1 is off by 10: MSE = 50 over the clip.
  media::VideoFrames reference = Constant(2, 16, 16, 100);
  media::VideoFrames test = reference;
  std::fill(test.Frame(1), test.Frame(1) + test.FrameBytes(), 110);
  absl::StatusOr<double> psnr = Psnr(reference, test);
  ASSERT_TRUE(psnr.ok()) << psnr.status();
  EXPECT_NEAR(*psnr, 10 * std::log10(255.0 * 255.0 / 50.0), 1e-12);
}

TEST(Psnr, IdenticalClipsReportTheCap) {
  const media::VideoFrames clip = Textured(2, 16, 16);
  absl::StatusOr<double> psnr = Psnr(clip, clip);
  ASSERT_TRUE(psnr.ok()) << psnr.status();
  EXPECT_EQ(*psnr, kPsnrCapDb);
}

TEST(Ssim, IdenticalClipsScoreOne) {
  const media::VideoFrames clip = Textured(3, 32, 24);
  absl::StatusOr<double> ssim = Ssim(clip, clip);
  ASSERT_TRUE(ssim.ok()) << ssim.status();
  EXPECT_NEAR(*ssim, 1.0, 1e-12);
}

TEST(Ssim, ConstantFramesReduceToTheLuminanceTerm) {
  // No variance anywhere: SSIM = (2ab + C1) / (a^2 + b^2 + C1) with C1 = (0.01 * 255)^2.
  const double c1 = (0.01 * 255) * (0.01 * 255);
  const double expected = (2 * 100.0 * 110.0 + c1) / (100.0 * 100.0 + 110.0 * 110.0 + c1);
  absl::StatusOr<double> ssim = Ssim(Constant(2, 16, 16, 100), Constant(2, 16, 16, 110));
  ASSERT_TRUE(ssim.ok()) << ssim.status();
  EXPECT_NEAR(*ssim, expected, 1e-9);
}

TEST(Ssim, FallsAsNoiseGrows) {
  const media::VideoFrames clip = Textured(2, 32, 32);
  absl::StatusOr<double> mild = Ssim(clip, WithNoise(clip, 8, 1));
  absl::StatusOr<double> strong = Ssim(clip, WithNoise(clip, 60, 1));
  ASSERT_TRUE(mild.ok()) << mild.status();
  ASSERT_TRUE(strong.ok()) << strong.status();
  EXPECT_LT(*mild, 1.0);
  EXPECT_GT(*mild, 0.5);
  EXPECT_LT(*strong, *mild - 0.1);
}

// Wang et al.'s definition written out directly: the 2-D 11x11 Gaussian window at every
// valid position, per channel, averaged. The implementation filters separably; both must
// agree.
double DirectSsim(const media::VideoFrames& a, const media::VideoFrames& b) {
  double g[11], sum = 0;
  for (int k = 0; k < 11; ++k) sum += g[k] = std::exp(-(k - 5) * (k - 5) / (2 * 1.5 * 1.5));
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  double total = 0;
  for (int t = 0; t < a.frames; ++t) {
    for (int c = 0; c < 3; ++c) {
      double channel = 0;
      for (int i = 0; i + 11 <= a.height; ++i) {
        for (int j = 0; j + 11 <= a.width; ++j) {
          double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
          for (int u = 0; u < 11; ++u) {
            for (int v = 0; v < 11; ++v) {
              const double w = g[u] * g[v] / (sum * sum);
              const size_t idx = (static_cast<size_t>(i + u) * a.width + j + v) * 3 + c;
              const double x = a.Frame(t)[idx], y = b.Frame(t)[idx];
              mx += w * x;
              my += w * y;
              xx += w * x * x;
              yy += w * y * y;
              xy += w * x * y;
            }
          }
          channel += ((2 * mx * my + c1) * (2 * (xy - mx * my) + c2)) /
                     ((mx * mx + my * my + c1) * (xx - mx * mx + yy - my * my + c2));
        }
      }
      total += channel / ((a.height - 10) * (a.width - 10)) / 3;
    }
  }
  return total / a.frames;
}

TEST(Ssim, MatchesTheDirectTwoDimensionalWindow) {
  const media::VideoFrames clip = Textured(2, 20, 17);
  const media::VideoFrames noisy = WithNoise(clip, 40, 7);
  absl::StatusOr<double> ssim = Ssim(clip, noisy);
  ASSERT_TRUE(ssim.ok()) << ssim.status();
  EXPECT_NEAR(*ssim, DirectSsim(clip, noisy), 1e-9);
}

TEST(Ssim, AveragesOverFrames) {
  // Frame 0 identical (SSIM 1), frame 1 a constant pair with a known score.
  media::VideoFrames reference = Constant(2, 16, 16, 100);
  media::VideoFrames test = reference;
  std::fill(test.Frame(1), test.Frame(1) + test.FrameBytes(), 110);
  const double c1 = (0.01 * 255) * (0.01 * 255);
  const double frame1 = (2 * 100.0 * 110.0 + c1) / (100.0 * 100.0 + 110.0 * 110.0 + c1);
  absl::StatusOr<double> ssim = Ssim(reference, test);
  ASSERT_TRUE(ssim.ok()) << ssim.status();
  EXPECT_NEAR(*ssim, (1.0 + frame1) / 2, 1e-9);
}

TEST(Ssim, ScoresEachColourChannel) {
  // Exchanging the red and green channels leaves every pixel's channel values the same
  // multiset; channel-wise SSIM still sees the colours move.
  media::VideoFrames reference = Textured(1, 32, 32);
  media::VideoFrames swapped = reference;
  for (size_t i = 0; i < swapped.rgb.size(); i += 3) std::swap(swapped.rgb[i], swapped.rgb[i + 1]);
  absl::StatusOr<double> ssim = Ssim(reference, swapped);
  ASSERT_TRUE(ssim.ok()) << ssim.status();
  EXPECT_LT(*ssim, 0.9);
}

TEST(VideoQuality, MismatchedShapesNameBothShapes) {
  absl::StatusOr<VideoQuality> q =
      MeasureVideoQuality(Constant(17, 64, 64, 0), Constant(17, 32, 64, 0));
  ASSERT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(q.status().message(), ::testing::HasSubstr("17x64x64"));
  EXPECT_THAT(q.status().message(), ::testing::HasSubstr("17x32x64"));
  EXPECT_EQ(Psnr(Constant(2, 16, 16, 0), Constant(3, 16, 16, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VideoQuality, RejectsInconsistentClips) {
  media::VideoFrames broken = Constant(2, 16, 16, 0);
  broken.rgb.resize(10);
  absl::StatusOr<double> psnr = Psnr(Constant(2, 16, 16, 0), broken);
  ASSERT_EQ(psnr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(psnr.status().message(), ::testing::HasSubstr("test"));
  EXPECT_THAT(psnr.status().message(), ::testing::HasSubstr("10 bytes"));
}

TEST(Ssim, RejectsFramesSmallerThanTheWindow) {
  absl::StatusOr<double> ssim = Ssim(Constant(1, 10, 32, 0), Constant(1, 10, 32, 0));
  ASSERT_EQ(ssim.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ssim.status().message(), ::testing::HasSubstr("10x32"));
  // PSNR has no window and accepts them.
  EXPECT_TRUE(Psnr(Constant(1, 10, 32, 0), Constant(1, 10, 32, 0)).ok());
}

}  // namespace
}  // namespace vidserve::eval

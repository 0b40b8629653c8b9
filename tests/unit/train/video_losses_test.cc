#include "train/video_losses.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vidserve::train {
namespace {

torch::Tensor RandomVideo(int64_t seed) {
  torch::manual_seed(seed);
  return torch::rand({2, 3, 5, 32, 32}) * 2 - 1;
}

TEST(VideoLossesTest, SsimIsOneForIdenticalVideosAndFallsWithNoise) {
  const auto x = RandomVideo(1);
  EXPECT_NEAR(Ssim(x, x).item<double>(), 1.0, 1e-5);
  const double slightly = Ssim(x + 0.05 * torch::randn_like(x), x).item<double>();
  const double very = Ssim(x + 0.5 * torch::randn_like(x), x).item<double>();
  EXPECT_LT(slightly, 0.999);
  EXPECT_LT(very, slightly);
  EXPECT_GT(very, -1.0);
}

TEST(VideoLossesTest, SsimHasGradients) {
  const auto target = RandomVideo(2);
  auto pred = (target + 0.1 * torch::randn_like(target)).set_requires_grad(true);
  (1 - Ssim(pred, target)).backward();
  EXPECT_GT(pred.grad().abs().sum().item<double>(), 0.0);
}

TEST(VideoLossesTest, GradientL1IgnoresAConstantOffsetButNotBlur) {
  const auto x = RandomVideo(3);
  EXPECT_NEAR(GradientL1(x + 0.3, x).item<double>(), 0.0, 1e-6);
  const auto blurred = 0.5 * (x + x.roll(1, 4));
  EXPECT_GT(GradientL1(blurred, x).item<double>(), 0.05);
}

TEST(VideoLossesTest, KlIsZeroForTheStandardNormalAndPositiveOtherwise) {
  const auto zeros = torch::zeros({4, 8});
  EXPECT_NEAR(GaussianKl(zeros, zeros).item<double>(), 0.0, 1e-7);
  // KL(N(1, 1) || N(0, 1)) = 0.5 per element.
  EXPECT_NEAR(GaussianKl(torch::ones({4, 8}), zeros).item<double>(), 0.5, 1e-6);
}

TEST(VideoLossesTest, PsnrMatchesTheDefinitionOn8BitValues) {
  const auto x = torch::zeros({1, 3, 1, 4, 4});
  // 10 levels off everywhere (in [-1, 1] units 10 / 127.5): PSNR = 20 log10(255 / 10).
  EXPECT_NEAR(PsnrDb(x + 10.0 / 127.5, x), 20.0 * std::log10(25.5), 1e-6);
  EXPECT_GE(PsnrDb(x, x), 100.0);
}

}  // namespace
}  // namespace vidserve::train

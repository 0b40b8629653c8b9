#include "eval/reconstruction_breakdown.h"

#include "gtest/gtest.h"

namespace vidserve::eval {
namespace {

TEST(ReconstructionBreakdown, AveragesOverallAndPerTexture) {
  ReconstructionBreakdown breakdown;
  breakdown.Add(data::Texture::kSolid, {40, 0.98}, {38, 0.96});
  breakdown.Add(data::Texture::kSolid, {36, 0.94}, {33, 0.90});
  breakdown.Add(data::Texture::kNoise, {20, 0.30}, {19, 0.20});

  const ReconstructionSummary solid = breakdown.ForTexture(data::Texture::kSolid);
  EXPECT_EQ(solid.clips, 2);
  EXPECT_DOUBLE_EQ(solid.full.psnr_db, 38);
  EXPECT_DOUBLE_EQ(solid.full.ssim, 0.96);
  EXPECT_DOUBLE_EQ(solid.thin.psnr_db, 35.5);
  EXPECT_DOUBLE_EQ(solid.thin.ssim, 0.93);
  EXPECT_DOUBLE_EQ(solid.PsnrLossDb(), 2.5);
  EXPECT_NEAR(solid.SsimLoss(), 0.03, 1e-12);

  const ReconstructionSummary noise = breakdown.ForTexture(data::Texture::kNoise);
  EXPECT_EQ(noise.clips, 1);
  EXPECT_DOUBLE_EQ(noise.full.psnr_db, 20);

  const ReconstructionSummary overall = breakdown.Overall();
  EXPECT_EQ(overall.clips, 3);
  EXPECT_DOUBLE_EQ(overall.full.psnr_db, 32);
  EXPECT_DOUBLE_EQ(overall.thin.psnr_db, 30);
  EXPECT_DOUBLE_EQ(overall.PsnrLossDb(), 2);
}

TEST(ReconstructionBreakdown, TextureWithNoClipsIsEmpty) {
  ReconstructionBreakdown breakdown;
  breakdown.Add(data::Texture::kChecker, {30, 0.9}, {29, 0.88});
  const ReconstructionSummary stripes = breakdown.ForTexture(data::Texture::kStripes);
  EXPECT_EQ(stripes.clips, 0);
  EXPECT_DOUBLE_EQ(stripes.full.psnr_db, 0);
  EXPECT_DOUBLE_EQ(breakdown.Overall().full.psnr_db, 30);
}

}  // namespace
}  // namespace vidserve::eval

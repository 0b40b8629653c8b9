#include "data/caption_parser.h"

#include "data/synthetic_clip_generator.h"
#include "gtest/gtest.h"

namespace vidserve::data {
namespace {

TEST(CaptionParser, RoundTripsEveryGeneratedCaption) {
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    const ClipSpec spec = SampleSpec(seed);
    const std::string caption = Caption(spec);
    const ExpectedAttributes a = ParseCaption(caption);
    const ObjectSpec& o = spec.objects[0];
    EXPECT_EQ(a.colour, o.colour) << caption;
    EXPECT_EQ(a.shape, o.shape) << caption;
    EXPECT_EQ(a.size, o.size) << caption;
    EXPECT_EQ(a.motion, o.motion) << caption;
    EXPECT_EQ(a.background_colour, spec.background.colour) << caption;
    EXPECT_EQ(a.background_texture, spec.background.texture) << caption;
  }
}

TEST(CaptionParser, ReadsTheSubjectNotTheSecondObjectOrTheBackground) {
  const ExpectedAttributes a = ParseCaption(
      "a large green square moving up and a small red circle moving left on a white checkered "
      "background");
  EXPECT_EQ(a.colour, Colour::kGreen);
  EXPECT_EQ(a.shape, Shape::kSquare);
  EXPECT_EQ(a.size, Size::kLarge);
  EXPECT_EQ(a.motion, Motion::kUp);
  EXPECT_EQ(a.background_colour, Colour::kWhite);
  EXPECT_EQ(a.background_texture, Texture::kChecker);
}

TEST(CaptionParser, AcceptsUserPromptsWithSynonymsAndPunctuation) {
  const ExpectedAttributes a = ParseCaption("A big MAGENTA ball, spinning!");
  EXPECT_EQ(a.colour, Colour::kPurple);
  EXPECT_EQ(a.shape, Shape::kCircle);
  EXPECT_EQ(a.size, Size::kLarge);
  EXPECT_EQ(a.motion, Motion::kRotate);
  EXPECT_FALSE(a.background_colour.has_value());

  const ExpectedAttributes b = ParseCaption("tiny cyan triangles drifting to the right over grey");
  EXPECT_EQ(b.colour, Colour::kCyan);
  EXPECT_EQ(b.shape, Shape::kTriangle);
  EXPECT_EQ(b.size, Size::kSmall);
  EXPECT_EQ(b.motion, Motion::kRight);
}

TEST(CaptionParser, LeavesUnmentionedAttributesUnset) {
  const ExpectedAttributes a = ParseCaption("something orange");
  EXPECT_EQ(a.colour, Colour::kOrange);
  EXPECT_FALSE(a.shape.has_value());
  EXPECT_FALSE(a.size.has_value());
  EXPECT_FALSE(a.motion.has_value());
  EXPECT_FALSE(a.background_texture.has_value());
  const ExpectedAttributes empty = ParseCaption("");
  EXPECT_FALSE(empty.colour.has_value());
}

TEST(CaptionParser, BackgroundWithoutAdjectiveIsSolid) {
  const ExpectedAttributes a = ParseCaption("a red diamond on a black background");
  EXPECT_EQ(a.shape, Shape::kDiamond);
  EXPECT_EQ(a.background_colour, Colour::kBlack);
  EXPECT_EQ(a.background_texture, Texture::kSolid);
}

}  // namespace
}  // namespace vidserve::data

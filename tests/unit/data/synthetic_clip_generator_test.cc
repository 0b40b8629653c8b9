#include "data/synthetic_clip_generator.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vidserve::data {
namespace {

using ::testing::HasSubstr;

Rgb PixelAt(const media::VideoFrames& v, int t, double x, double y) {
  const uint8_t* p = v.Frame(t) + (static_cast<size_t>(y) * v.width + static_cast<size_t>(x)) * 3;
  return {p[0], p[1], p[2]};
}

ClipSpec RedCircleMovingRightOnBlue() {
  ClipSpec spec;
  ObjectSpec o;
  o.shape = Shape::kCircle;
  o.colour = Colour::kRed;
  o.size = Size::kSmall;
  o.motion = Motion::kRight;
  o.radius_px = 7;
  o.start_x_px = 16;
  o.end_x_px = 44;
  o.start_y_px = o.end_y_px = 30;
  spec.objects = {o};
  spec.background.colour = Colour::kBlue;
  return spec;
}

TEST(SyntheticClipGenerator, SameSeedGivesIdenticalBytes) {
  for (uint64_t seed : {0ull, 1ull, 12345ull, 0xFFFFFFFFFFFFull}) {
    const media::VideoFrames a = Render(SampleSpec(seed));
    const media::VideoFrames b = Render(SampleSpec(seed));
    EXPECT_EQ(a.rgb, b.rgb) << "seed " << seed;
    EXPECT_EQ(Caption(SampleSpec(seed)), Caption(SampleSpec(seed)));
  }
}

TEST(SyntheticClipGenerator, DifferentSeedsGiveDifferentClips) {
  std::set<std::vector<uint8_t>> clips;
  for (uint64_t seed = 0; seed < 50; ++seed) clips.insert(Render(SampleSpec(seed)).rgb);
  EXPECT_EQ(clips.size(), 50u);
}

// Guards the PRNG and the sampling order: changing either silently reshuffles the
// train/held-out data and invalidates recorded metrics.
TEST(SyntheticClipGenerator, SampledCaptionsAndSplitMatchGoldenValues) {
  EXPECT_EQ(Caption(SampleSpec(7)),
            "a large yellow circle bouncing and a large orange triangle bouncing on a blue "
            "background");
  EXPECT_EQ(HeldOutSeeds(3), (std::vector<uint64_t>{24, 25, 53}));
}

TEST(SyntheticClipGenerator, ClipHasTheRequestedGeometry) {
  SyntheticClipOptions options;
  options.frames = 9;
  options.height = 48;
  options.width = 80;
  options.fps = 12;
  const media::VideoFrames v = Render(SampleSpec(3, options));
  EXPECT_EQ(v.frames, 9);
  EXPECT_EQ(v.height, 48);
  EXPECT_EQ(v.width, 80);
  EXPECT_DOUBLE_EQ(v.fps, 12);
  EXPECT_EQ(v.rgb.size(), v.ExpectedBytes());
}

TEST(SyntheticClipGenerator, RenderPutsTheObjectColourAtItsPositionAndBackgroundElsewhere) {
  const ClipSpec spec = RedCircleMovingRightOnBlue();
  const media::VideoFrames v = Render(spec);
  const Rgb red = PaletteRgb(Colour::kRed), blue = PaletteRgb(Colour::kBlue);
  EXPECT_EQ(PixelAt(v, 0, 16, 30), red);
  EXPECT_EQ(PixelAt(v, 0, 44, 30), blue);
  EXPECT_EQ(PixelAt(v, spec.frames - 1, 44, 30), red);
  EXPECT_EQ(PixelAt(v, spec.frames - 1, 16, 30), blue);
  EXPECT_EQ(PixelAt(v, 8, 30, 30), red);  // halfway
  EXPECT_EQ(PixelAt(v, 8, 2, 2), blue);
}

TEST(SyntheticClipGenerator, FirstObjectIsDrawnOnTop) {
  ClipSpec spec = RedCircleMovingRightOnBlue();
  ObjectSpec under = spec.objects[0];
  under.colour = Colour::kGreen;
  under.radius_px = 12;
  spec.objects.push_back(under);
  const media::VideoFrames v = Render(spec);
  EXPECT_EQ(PixelAt(v, 0, 16, 30), PaletteRgb(Colour::kRed));
  EXPECT_EQ(PixelAt(v, 0, 16, 40), PaletteRgb(Colour::kGreen));  // outside the red one
}

TEST(SyntheticClipGenerator, ObjectsStayInsideTheFrame) {
  SyntheticClipOptions options;
  options.textured_background_probability = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const ClipSpec spec = SampleSpec(seed, options);
    const media::VideoFrames v = Render(spec);
    const Rgb bg = PaletteRgb(spec.background.colour);
    for (int t = 0; t < v.frames; ++t) {
      for (int i = 0; i < v.width; ++i) {
        ASSERT_EQ(PixelAt(v, t, i, 0), bg) << Caption(spec) << " seed " << seed << " t " << t;
        ASSERT_EQ(PixelAt(v, t, i, v.height - 1), bg) << Caption(spec) << " seed " << seed;
      }
      for (int j = 0; j < v.height; ++j) {
        ASSERT_EQ(PixelAt(v, t, 0, j), bg) << Caption(spec) << " seed " << seed << " t " << t;
        ASSERT_EQ(PixelAt(v, t, v.width - 1, j), bg) << Caption(spec) << " seed " << seed;
      }
    }
  }
}

TEST(SyntheticClipGenerator, ObjectsHaveDistinctColoursFarFromTheBackground) {
  for (uint64_t seed = 0; seed < 500; ++seed) {
    const ClipSpec spec = SampleSpec(seed);
    ASSERT_GE(spec.objects.size(), 1u);
    ASSERT_LE(spec.objects.size(), 2u);
    if (spec.objects.size() == 2) EXPECT_NE(spec.objects[0].colour, spec.objects[1].colour);
    const Rgb base = PaletteRgb(spec.background.colour);
    for (const ObjectSpec& o : spec.objects) {
      EXPECT_LT(static_cast<int>(o.colour), kNumObjectColours);
      EXPECT_GE(RgbDistanceSquared(PaletteRgb(o.colour), base), 100 * 100) << Caption(spec);
      EXPECT_GE(RgbDistanceSquared(PaletteRgb(o.colour), TextureShade(base)), 100 * 100)
          << Caption(spec);
      EXPECT_FALSE(o.shape == Shape::kCircle && o.motion == Motion::kRotate) << Caption(spec);
    }
  }
}

TEST(SyntheticClipGenerator, SamplesEveryAttributeValue) {
  std::set<int> shapes, colours, motions, textures, sizes;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    const ClipSpec spec = SampleSpec(seed);
    shapes.insert(static_cast<int>(spec.objects[0].shape));
    colours.insert(static_cast<int>(spec.objects[0].colour));
    motions.insert(static_cast<int>(spec.objects[0].motion));
    sizes.insert(static_cast<int>(spec.objects[0].size));
    textures.insert(static_cast<int>(spec.background.texture));
  }
  EXPECT_EQ(shapes.size(), kAllShapes.size());
  EXPECT_EQ(colours.size(), static_cast<size_t>(kNumObjectColours));
  EXPECT_EQ(motions.size(), kAllMotions.size());
  EXPECT_EQ(sizes.size(), 2u);
  EXPECT_EQ(textures.size(), kAllTextures.size());
}

TEST(SyntheticClipGenerator, OptionsRestrictObjectCountAndMotions) {
  SyntheticClipOptions options;
  options.min_objects = 2;
  options.max_objects = 2;
  options.motions = {Motion::kUp};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const ClipSpec spec = SampleSpec(seed, options);
    ASSERT_EQ(spec.objects.size(), 2u);
    for (const ObjectSpec& o : spec.objects) EXPECT_EQ(o.motion, Motion::kUp);
  }
}

TEST(SyntheticClipGenerator, ValidationNamesTheBadFieldAndValue) {
  EXPECT_TRUE(ValidateSyntheticClipOptions({}).ok());
  SyntheticClipOptions options;
  options.max_objects = 9;
  const absl::Status s = ValidateSyntheticClipOptions(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("max_objects = 9"));
  options = {};
  options.height = 8;
  EXPECT_THAT(ValidateSyntheticClipOptions(options).message(), HasSubstr("height = 8"));
  options = {};
  options.textured_background_probability = 1.5;
  EXPECT_FALSE(ValidateSyntheticClipOptions(options).ok());
}

TEST(SyntheticClipGenerator, CaptionWordsTheAttributes) {
  ClipSpec spec = RedCircleMovingRightOnBlue();
  EXPECT_EQ(Caption(spec), "a small red circle moving right on a blue background");
  ObjectSpec second;
  second.shape = Shape::kSquare;
  second.colour = Colour::kGreen;
  second.size = Size::kLarge;
  second.motion = Motion::kUp;
  spec.objects.push_back(second);
  spec.background.colour = Colour::kOrange;
  spec.background.texture = Texture::kStripes;
  EXPECT_EQ(Caption(spec),
            "a small red circle moving right and a large green square moving up on an orange "
            "striped background");
  spec.objects.resize(1);
  spec.objects[0].motion = Motion::kStill;
  spec.background.texture = Texture::kNoise;
  EXPECT_EQ(Caption(spec), "a small red circle standing still on an orange noisy background");
}

TEST(SyntheticClipGenerator, CaptionMatchesSampledSpec) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const ClipSpec spec = SampleSpec(seed);
    const std::string caption = Caption(spec);
    const ObjectSpec& o = spec.objects[0];
    EXPECT_THAT(caption, HasSubstr(std::string(ColourName(o.colour)) + " " +
                                   std::string(ShapeName(o.shape)) + " " +
                                   std::string(MotionPhrase(o.motion))));
    EXPECT_THAT(caption, HasSubstr(std::string(ColourName(spec.background.colour))));
  }
}

TEST(SyntheticClipGenerator, HeldOutSplitIsStableAndAboutTenPercent) {
  int held_out = 0;
  constexpr int kSeeds = 20000;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    held_out += IsHeldOut(seed);
    ASSERT_EQ(IsHeldOut(seed), IsHeldOut(seed));
  }
  EXPECT_NEAR(double(held_out) / kSeeds, 0.10, 0.01);
}

TEST(SyntheticClipGenerator, SeedListsArePrefixesOfTheirSplit) {
  const std::vector<uint64_t> train = TrainSeeds(200);
  const std::vector<uint64_t> held = HeldOutSeeds(20);
  ASSERT_EQ(train.size(), 200u);
  ASSERT_EQ(held.size(), 20u);
  for (uint64_t s : train) EXPECT_FALSE(IsHeldOut(s));
  for (uint64_t s : held) EXPECT_TRUE(IsHeldOut(s));
  // A longer list extends a shorter one: enumerating more clips never reshuffles.
  const std::vector<uint64_t> more = TrainSeeds(300);
  EXPECT_TRUE(std::equal(train.begin(), train.end(), more.begin()));
  // Every seed below the last listed one is in exactly one list.
  for (uint64_t s = 0; s < train.back(); ++s) {
    if (!IsHeldOut(s)) EXPECT_TRUE(std::count(train.begin(), train.end(), s)) << s;
  }
}

}  // namespace
}  // namespace vidserve::data

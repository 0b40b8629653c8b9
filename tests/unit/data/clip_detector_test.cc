#include "data/clip_detector.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>

#include "absl/strings/str_format.h"
#include "data/caption_parser.h"
#include "data/synthetic_clip_generator.h"
#include "gtest/gtest.h"
#include "media/y4m_io.h"

namespace vidserve::data {
namespace {

void Y4m420RoundTrip(media::VideoFrames& video) {
  absl::StatusOr<std::string> bytes =
      media::SerializeY4m(video, {.chroma = media::Y4mChroma::k420});
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<media::VideoFrames> decoded = media::ParseY4m(*bytes, "clip");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  video = *std::move(decoded);
}

// What a generator's output may look like: 3x3 box blur, then uniform noise of +-`noise`
// per channel from a fixed-seed LCG.
void BlurAndNoise(media::VideoFrames& video, int noise) {
  media::VideoFrames src = video;
  uint32_t state = 12345;
  for (int t = 0; t < video.frames; ++t) {
    for (int y = 0; y < video.height; ++y) {
      for (int x = 0; x < video.width; ++x) {
        for (int c = 0; c < 3; ++c) {
          int sum = 0, n = 0;
          for (int dy = -1; dy <= 1; ++dy) {
            for (int dx = -1; dx <= 1; ++dx) {
              const int yy = y + dy, xx = x + dx;
              if (yy < 0 || xx < 0 || yy >= video.height || xx >= video.width) continue;
              sum += src.Frame(t)[(static_cast<size_t>(yy) * video.width + xx) * 3 + c];
              ++n;
            }
          }
          state = state * 1664525u + 1013904223u;
          const int jitter = static_cast<int>(state >> 16) % (2 * noise + 1) - noise;
          video.Frame(t)[(static_cast<size_t>(y) * video.width + x) * 3 + c] =
              static_cast<uint8_t>(std::clamp(sum / n + jitter, 0, 255));
        }
      }
    }
  }
}

// A (2 radius + 1)^2 box blur: at radius 2 it rounds a small shape's corners about as much
// as the VAE does (a triangle's outline spread falls into the square's range).
void BoxBlur(media::VideoFrames& video, int radius) {
  const media::VideoFrames src = video;
  for (int t = 0; t < video.frames; ++t) {
    for (int y = 0; y < video.height; ++y) {
      for (int x = 0; x < video.width; ++x) {
        for (int c = 0; c < 3; ++c) {
          int sum = 0, n = 0;
          for (int yy = std::max(0, y - radius); yy <= std::min(video.height - 1, y + radius);
               ++yy) {
            for (int xx = std::max(0, x - radius); xx <= std::min(video.width - 1, x + radius);
                 ++xx) {
              sum += src.Frame(t)[(static_cast<size_t>(yy) * video.width + xx) * 3 + c];
              ++n;
            }
          }
          video.Frame(t)[(static_cast<size_t>(y) * video.width + x) * 3 + c] =
              static_cast<uint8_t>((sum + n / 2) / n);
        }
      }
    }
  }
}

struct Accuracy {
  int clips = 0, colour = 0, shape = 0, motion = 0;
  double Colour() const { return double(colour) / clips; }
  double Shape() const { return double(shape) / clips; }
  double Motion() const { return double(motion) / clips; }
};

// Detects `count` ground-truth clips of `objects` objects each and counts correct attributes; each
// miss is printed with the features behind it, which is how the thresholds were tuned.
Accuracy MeasureOnGroundTruth(int count, double textured_probability, uint64_t first_seed,
                              const std::function<void(media::VideoFrames&)>& degrade = {},
                              int objects = 1, const ClipDetectorOptions& detector = {},
                              bool print_misses = true) {
  SyntheticClipOptions options;
  options.min_objects = objects;
  options.max_objects = objects;
  options.textured_background_probability = textured_probability;
  Accuracy acc;
  for (uint64_t seed = first_seed; acc.clips < count; ++seed) {
    const ClipSpec spec = SampleSpec(seed, options);
    media::VideoFrames video = Render(spec);
    if (degrade) degrade(video);
    absl::StatusOr<ClipDetection> d = DetectClip(video, detector);
    EXPECT_TRUE(d.ok()) << d.status();
    const ClipScore s = Score(*d, ParseCaption(Caption(spec)));
    ++acc.clips;
    acc.colour += *s.colour_correct;
    acc.shape += *s.shape_correct;
    acc.motion += *s.motion_correct;
    if (print_misses && (!*s.colour_correct || !*s.shape_correct || !*s.motion_correct)) {
      std::printf("  miss seed=%llu \"%s\":", static_cast<unsigned long long>(seed),
                  Caption(spec).c_str());
      for (const DetectedObject& o : d->objects) {
        std::printf(
            " [%s %s %s: share=%.2f elong=%.2f rcv=%.3f fit c/s/t/d=%.2f/%.2f/%.2f/%.2f "
            "disp=(%.1f,%.1f) area=%.2f iou=%.2f frames=%d]",
            std::string(ColourName(o.colour)).c_str(),
            o.shape ? std::string(ShapeName(*o.shape)).c_str() : "none",
            std::string(MotionPhrase(o.motion)).c_str(), o.pixel_fraction, o.elongation,
            o.radial_cv, o.template_iou[0], o.template_iou[1], o.template_iou[2], o.template_iou[3],
            o.displacement_x_px, o.displacement_y_px, o.area_ratio, o.min_aligned_iou,
            o.frames_with_object);
      }
      std::printf("\n");
    }
  }
  std::printf("%d clips: colour %.3f shape %.3f motion %.3f\n", acc.clips, acc.Colour(),
              acc.Shape(), acc.Motion());
  return acc;
}

// Thresholds sit a little under the accuracies measured when they were set (Nov 2026):
// solid 500 clips and textured 500 clips 100% on every attribute; y4m 4:2:0 300 clips
// colour 100%, shape 99.7%, motion 100%; two objects (scored on the first) 300 clips
// colour 100%, shape 98.7%, motion 100%; blurred and noisy 300 clips 100%.
TEST(ClipDetector, IsAccurateOnSolidBackgroundGroundTruth) {
  const Accuracy acc = MeasureOnGroundTruth(500, /*textured_probability=*/0.0, 1000);
  EXPECT_GE(acc.Colour(), 0.98);
  EXPECT_GE(acc.Shape(), 0.97);
  EXPECT_GE(acc.Motion(), 0.97);
}

TEST(ClipDetector, IsAccurateOnTexturedBackgroundGroundTruth) {
  const Accuracy acc = MeasureOnGroundTruth(500, /*textured_probability=*/1.0, 2000);
  EXPECT_GE(acc.Colour(), 0.98);
  EXPECT_GE(acc.Shape(), 0.97);
  EXPECT_GE(acc.Motion(), 0.97);
}

TEST(ClipDetector, IsAccurateAfterY4m420RoundTrip) {
  const Accuracy acc = MeasureOnGroundTruth(300, 0.5, 3000, Y4m420RoundTrip);
  EXPECT_GE(acc.Colour(), 0.97);
  EXPECT_GE(acc.Shape(), 0.95);
  EXPECT_GE(acc.Motion(), 0.95);
}

TEST(ClipDetector, IsAccurateOnTwoObjectGroundTruth) {
  const Accuracy acc = MeasureOnGroundTruth(300, 0.5, 5000, {}, /*objects=*/2);
  EXPECT_GE(acc.Colour(), 0.97);
  EXPECT_GE(acc.Shape(), 0.95);
  EXPECT_GE(acc.Motion(), 0.95);
}

TEST(ClipDetector, IsAccurateOnBlurredNoisyGroundTruth) {
  const Accuracy acc = MeasureOnGroundTruth(
      300, 0.5, 4000, [](media::VideoFrames& v) { BlurAndNoise(v, /*noise=*/10); });
  EXPECT_GE(acc.Colour(), 0.95);
  EXPECT_GE(acc.Shape(), 0.93);
  EXPECT_GE(acc.Motion(), 0.93);
}

// The shape rule the detector used before template fitting held up on sharp clips but not
// on blurred ones; template fitting must hold up on both, and do clearly better there.
TEST(ClipDetector, TemplateFitKeepsShapesThatBlurRoundsOff) {
  const auto blur = [](media::VideoFrames& v) { BoxBlur(v, /*radius=*/2); };
  const Accuracy fit = MeasureOnGroundTruth(200, 0.5, 6000, blur);
  ClipDetectorOptions radial;
  radial.shape_rule = ShapeRule::kRadialCv;
  const Accuracy old = MeasureOnGroundTruth(200, 0.5, 6000, blur, 1, radial, false);
  EXPECT_GE(fit.Shape(), 0.95);
  EXPECT_GE(fit.Shape(), old.Shape() + 0.10);
  EXPECT_GE(fit.Colour(), 0.95);
  EXPECT_GE(fit.Motion(), 0.93);
}

// JudgeShape on a detection's features gives what detecting again under that rule gives,
// which is how the quality bench reports the earlier rule without a second detection.
TEST(ClipDetector, JudgingADetectionUnderAnotherRuleEqualsDetectingUnderIt) {
  ClipDetectorOptions radial;
  radial.shape_rule = ShapeRule::kRadialCv;
  int differ = 0;
  for (uint64_t seed = 7000; seed < 7060; ++seed) {
    media::VideoFrames video = Render(SampleSpec(seed));
    BoxBlur(video, /*radius=*/2);  // where the two rules part
    absl::StatusOr<ClipDetection> fit = DetectClip(video);
    absl::StatusOr<ClipDetection> old = DetectClip(video, radial);
    ASSERT_TRUE(fit.ok() && old.ok());
    ASSERT_EQ(fit->objects.size(), old->objects.size()) << seed;
    for (size_t i = 0; i < fit->objects.size(); ++i) {
      EXPECT_EQ(JudgeShape(fit->objects[i], {}), fit->objects[i].shape) << seed;
      EXPECT_EQ(JudgeShape(fit->objects[i], radial), old->objects[i].shape) << seed;
      differ += fit->objects[i].shape != old->objects[i].shape;
    }
  }
  EXPECT_GT(differ, 0);  // the clips do tell the rules apart
}

// A still red object drawn where `inside(x, y)` holds (pixel centres, coordinates from the
// frame's centre) on a gray background.
media::VideoFrames StillObjectClip(const std::function<bool(double, double)>& inside) {
  media::VideoFrames video;
  video.frames = 17;
  video.height = video.width = 64;
  video.rgb.resize(video.ExpectedBytes());
  const Rgb red = PaletteRgb(Colour::kRed), gray = PaletteRgb(Colour::kGray);
  for (int t = 0; t < video.frames; ++t) {
    for (int y = 0; y < video.height; ++y) {
      for (int x = 0; x < video.width; ++x) {
        const Rgb c = inside(x + 0.5 - 32, y + 0.5 - 32) ? red : gray;
        uint8_t* p = video.Frame(t) + (static_cast<size_t>(y) * video.width + x) * 3;
        p[0] = c.r;
        p[1] = c.g;
        p[2] = c.b;
      }
    }
  }
  return video;
}

TEST(ClipDetector, AnEllipseIsNotACircle) {
  // Twice as wide as tall: what a denoiser that stretches its shapes draws.
  absl::StatusOr<ClipDetection> d = DetectClip(StillObjectClip(
      [](double x, double y) { return (x / 12) * (x / 12) + (y / 6) * (y / 6) <= 1; }));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->objects.size(), 1u);
  EXPECT_NE(d->objects[0].shape, Shape::kCircle);
  EXPECT_EQ(Score(*d, ParseCaption("a red circle")).shape_correct, false);
  // The same area as a disc is a circle.
  d = DetectClip(StillObjectClip([](double x, double y) { return x * x + y * y <= 72; }));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->objects.size(), 1u);
  EXPECT_EQ(d->objects[0].shape, Shape::kCircle);
  EXPECT_GE(d->objects[0].template_iou[static_cast<size_t>(Shape::kCircle)], 0.95);
}

TEST(ClipDetector, AMaskThatFitsNoTemplateIsNoShapeAndScoresWrong) {
  // A 30 x 4 bar: an object (it has a core), but no shape of the four.
  absl::StatusOr<ClipDetection> d = DetectClip(
      StillObjectClip([](double x, double y) { return std::abs(x) < 15 && std::abs(y) < 2; }));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->objects.size(), 1u);
  EXPECT_EQ(d->objects[0].colour, Colour::kRed);
  EXPECT_FALSE(d->objects[0].shape.has_value());
  for (double iou : d->objects[0].template_iou) EXPECT_LT(iou, 0.75);
  for (const char* prompt : {"a red circle", "a red square", "a red triangle", "a red diamond"}) {
    const ClipScore s = Score(*d, ParseCaption(prompt));
    EXPECT_EQ(s.colour_correct, true) << prompt;
    EXPECT_EQ(s.shape_correct, false) << prompt;
    EXPECT_FALSE(s.judged_shape.has_value()) << prompt;
  }
  // The rule before template fitting called it a diamond.
  ClipDetectorOptions radial;
  radial.shape_rule = ShapeRule::kRadialCv;
  d = DetectClip(
      StillObjectClip([](double x, double y) { return std::abs(x) < 15 && std::abs(y) < 2; }),
      radial);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->objects[0].shape, Shape::kDiamond);
}

ObjectSpec Object(Colour colour, Shape shape, double radius_px, Motion motion, double x, double y,
                  double end_x) {
  ObjectSpec o;
  o.colour = colour;
  o.shape = shape;
  o.radius_px = radius_px;
  o.motion = motion;
  o.start_x_px = x;
  o.end_x_px = end_x;
  o.start_y_px = o.end_y_px = y;
  return o;
}

TEST(ClipDetector, ReportsEveryObjectLargestFirstAndScoresThePromptedOne) {
  ClipSpec spec;
  spec.objects = {Object(Colour::kRed, Shape::kCircle, 5, Motion::kRight, 14, 14, 40),
                  Object(Colour::kGreen, Shape::kSquare, 11, Motion::kStill, 40, 44, 40)};
  spec.background.colour = Colour::kBlack;
  absl::StatusOr<ClipDetection> d = DetectClip(Render(spec));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->objects.size(), 2u);
  EXPECT_EQ(d->objects[0].colour, Colour::kGreen);
  EXPECT_EQ(d->objects[0].shape, Shape::kSquare);
  EXPECT_EQ(d->objects[0].motion, Motion::kStill);
  EXPECT_EQ(d->objects[1].colour, Colour::kRed);
  EXPECT_EQ(d->objects[1].shape, Shape::kCircle);
  EXPECT_EQ(d->objects[1].motion, Motion::kRight);
  const ClipScore s = Score(*d, ParseCaption(Caption(spec)));
  EXPECT_EQ(s.colour_correct, true);
  EXPECT_EQ(s.shape_correct, true);
  EXPECT_EQ(s.motion_correct, true);
  // The judged object is the prompted (red) one, not the larger square.
  EXPECT_EQ(s.judged_shape, Shape::kCircle);
  EXPECT_EQ(s.judged_motion, Motion::kRight);
  // Without a colour the most salient object is judged.
  EXPECT_EQ(Score(*d, ParseCaption("a circle moving right")).shape_correct, false);
}

TEST(ClipDetector, BlankClipHasNoObjectAndScoresWrongOnEveryNamedAttribute) {
  ClipSpec spec;
  spec.background.colour = Colour::kBlue;
  spec.background.texture = Texture::kChecker;
  absl::StatusOr<ClipDetection> d = DetectClip(Render(spec));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->found());
  const ClipScore s = Score(*d, ParseCaption("a red circle moving left"));
  EXPECT_EQ(s.colour_correct, false);
  EXPECT_EQ(s.shape_correct, false);
  EXPECT_EQ(s.motion_correct, false);
  EXPECT_FALSE(s.judged_shape.has_value());
  EXPECT_FALSE(s.judged_motion.has_value());
}

TEST(ClipDetector, ScoresOnlyTheAttributesThePromptNames) {
  DetectedObject red_triangle;
  red_triangle.colour = Colour::kRed;
  red_triangle.shape = Shape::kTriangle;
  ClipDetection d;
  d.objects = {red_triangle};
  const ClipScore s = Score(d, ParseCaption("something red"));
  EXPECT_EQ(s.colour_correct, true);
  EXPECT_FALSE(s.shape_correct.has_value());
  EXPECT_FALSE(s.motion_correct.has_value());
  EXPECT_EQ(Score(d, ParseCaption("a circle")).shape_correct, false);
  // A wrong colour still lets shape and motion be judged, on the most salient object.
  const ClipScore blue = Score(d, ParseCaption("a blue triangle"));
  EXPECT_EQ(blue.colour_correct, false);
  EXPECT_EQ(blue.shape_correct, true);
}

TEST(ClipDetector, RejectsEmptyAndInconsistentVideo) {
  EXPECT_EQ(DetectClip(media::VideoFrames{}).status().code(), absl::StatusCode::kInvalidArgument);
  media::VideoFrames v = Render(SampleSpec(1));
  v.rgb.resize(v.rgb.size() - 1);
  const absl::Status s = DetectClip(v).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(std::to_string(v.rgb.size())), std::string::npos) << s;
}

}  // namespace
}  // namespace vidserve::data

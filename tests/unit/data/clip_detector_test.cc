#include "data/clip_detector.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "data/caption_parser.h"
#include "data/synthetic_clip_generator.h"
#include "media/y4m_io.h"

namespace vidserve::data {
namespace {

struct Accuracy {
  int clips = 0, colour = 0, shape = 0, motion = 0;
  double Colour() const { return double(colour) / clips; }
  double Shape() const { return double(shape) / clips; }
  double Motion() const { return double(motion) / clips; }
};

// Detects `count` single-object ground-truth clips and counts correct attributes; each
// miss is printed with the features behind it, which is how the thresholds were tuned.
Accuracy MeasureOnGroundTruth(int count, double textured_probability, uint64_t first_seed,
                              bool through_y4m_420 = false) {
  SyntheticClipOptions options;
  options.max_objects = 1;
  options.textured_background_probability = textured_probability;
  Accuracy acc;
  for (uint64_t seed = first_seed; acc.clips < count; ++seed) {
    const ClipSpec spec = SampleSpec(seed, options);
    media::VideoFrames video = Render(spec);
    if (through_y4m_420) {
      absl::StatusOr<std::string> bytes =
          media::SerializeY4m(video, {.chroma = media::Y4mChroma::k420});
      EXPECT_TRUE(bytes.ok()) << bytes.status();
      absl::StatusOr<media::VideoFrames> decoded = media::ParseY4m(*bytes, "clip");
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      video = *decoded;
    }
    absl::StatusOr<ClipDetection> d = DetectClip(video);
    EXPECT_TRUE(d.ok()) << d.status();
    const ClipScore s = Score(*d, ParseCaption(Caption(spec)));
    ++acc.clips;
    acc.colour += *s.colour_correct;
    acc.shape += *s.shape_correct;
    acc.motion += *s.motion_correct;
    if (!*s.colour_correct || !*s.shape_correct || !*s.motion_correct) {
      std::printf(
          "  miss seed=%llu \"%s\": got %s %s %s (conf=%.2f elong=%.2f rcv=%.3f "
          "disp=(%.1f,%.1f) area=%.2f iou=%.2f frames=%d)\n",
          static_cast<unsigned long long>(seed), Caption(spec).c_str(),
          std::string(ColourName(d->colour)).c_str(), std::string(ShapeName(d->shape)).c_str(),
          std::string(MotionPhrase(d->motion)).c_str(), d->colour_confidence, d->elongation,
          d->radial_cv, d->displacement_x_px, d->displacement_y_px,
          d->area_ratio, d->min_aligned_iou, d->frames_with_object);
    }
  }
  std::printf("%d clips: colour %.3f shape %.3f motion %.3f\n", acc.clips, acc.Colour(),
              acc.Shape(), acc.Motion());
  return acc;
}

TEST(ClipDetector, IsAccurateOnSolidBackgroundGroundTruth) {
  const Accuracy acc = MeasureOnGroundTruth(200, /*textured_probability=*/0.0, 1000);
  EXPECT_GE(acc.Colour(), 0.95);
  EXPECT_GE(acc.Shape(), 0.90);
  EXPECT_GE(acc.Motion(), 0.90);
}

TEST(ClipDetector, IsAccurateOnTexturedBackgroundGroundTruth) {
  const Accuracy acc = MeasureOnGroundTruth(200, /*textured_probability=*/1.0, 2000);
  EXPECT_GE(acc.Colour(), 0.95);
  EXPECT_GE(acc.Shape(), 0.90);
  EXPECT_GE(acc.Motion(), 0.90);
}

TEST(ClipDetector, IsAccurateAfterY4m420RoundTrip) {
  const Accuracy acc = MeasureOnGroundTruth(100, 0.5, 3000, /*through_y4m_420=*/true);
  EXPECT_GE(acc.Colour(), 0.95);
  EXPECT_GE(acc.Shape(), 0.90);
  EXPECT_GE(acc.Motion(), 0.90);
}

}  // namespace
}  // namespace vidserve::data

// A deterministic procedural generator of captioned clips: the training and evaluation data
// for vidserve-train, since nothing can be downloaded here.
//
// A clip is described by a ClipSpec (objects with shape, colour, size and motion over a
// solid or textured background). SampleSpec(seed) draws one from a seed; Render(spec)
// draws it analytically per pixel; Caption(spec) words it ("a small red circle moving
// right on a blue background"). The same seed gives the same bytes on every platform: the
// PRNG is a hand-written splitmix64 and no std:: distribution is used (their output is
// implementation-defined).
//
// Train / held-out split: IsHeldOut(seed) puts ~10% of seeds aside by hashing the seed, so
// the split never depends on how many clips anyone enumerates.
//
// All functions are pure and thread-safe.
#ifndef VIDSERVE_DATA_SYNTHETIC_CLIP_GENERATOR_H_
#define VIDSERVE_DATA_SYNTHETIC_CLIP_GENERATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/clip_attributes.h"
#include "data/shape_geometry.h"  // ShapeExtent, for callers placing objects
#include "media/video_frames.h"

namespace vidserve::data {

struct SyntheticClipOptions {
  int frames = 17;  // 4k+1, what the VAE's temporal compression expects
  int height = 64;  // pixels
  int width = 64;   // pixels
  double fps = 24.0;
  int min_objects = 1;
  int max_objects = 2;  // objects of one clip always have different colours
  double textured_background_probability = 0.5;
  // Motions an object may get; rotation is never given to circles (it would be invisible).
  std::vector<Motion> motions = {kAllMotions.begin(), kAllMotions.end()};
  // Anti-aliasing: samples per pixel along each axis (1 = hard edges).
  int supersample = 2;
};

// One object. Positions are pixel coordinates of the object's centre (x right, y down,
// pixel (i, j) has its centre at (i + 0.5, j + 0.5)); every quantity is interpolated
// linearly over the clip, from the first frame's value to the last frame's.
struct ObjectSpec {
  Shape shape = Shape::kCircle;
  Colour colour = Colour::kRed;
  Size size = Size::kSmall;
  Motion motion = Motion::kStill;
  double radius_px = 8;  // nominal size: a circle's radius; other shapes have similar area
  double start_x_px = 32, start_y_px = 32;
  // For kBounce the end point lies beyond the border: the path is folded back into
  // [margin, extent - margin] (a reflection), which makes the bounce.
  double end_x_px = 32, end_y_px = 32;
  double start_scale = 1, end_scale = 1;          // multiplies radius_px
  double start_angle_deg = 0, end_angle_deg = 0;  // clockwise on screen
};

struct BackgroundSpec {
  Colour colour = Colour::kBlack;
  Texture texture = Texture::kSolid;
  int period_px = 8;        // stripe width and checker cell size
  uint64_t noise_seed = 0;  // kNoise: per-pixel noise, fixed over time
};

struct ClipSpec {
  int frames = 17, height = 64, width = 64;
  double fps = 24.0;
  int supersample = 2;
  // objects[0] is the caption's subject and is drawn on top.
  std::vector<ObjectSpec> objects;
  BackgroundSpec background;
};

// OK, or InvalidArgument naming the first bad field and its value: frames >= 1; height and
// width >= 16 (room for a large object); 1 <= min_objects <= max_objects <= 8 (distinct
// palette colours); supersample >= 1; probability in [0, 1].
absl::Status ValidateSyntheticClipOptions(const SyntheticClipOptions& options);

// REQUIRES: ValidateSyntheticClipOptions(options).ok().
ClipSpec SampleSpec(uint64_t seed, const SyntheticClipOptions& options = {});
media::VideoFrames Render(const ClipSpec& spec);
// "a small red circle moving right and a large green square moving up on a blue striped
// background".
std::string Caption(const ClipSpec& spec);

// The colour of the background's alternate texture elements (stripes, checker cells): the
// base colour moved 35% toward black (bright bases) or white (dark bases).
Rgb TextureShade(Rgb base);

bool IsHeldOut(uint64_t seed);
// The first `count` seeds, counting up from 0, that are (not) held out.
std::vector<uint64_t> TrainSeeds(int count);
std::vector<uint64_t> HeldOutSeeds(int count);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_SYNTHETIC_CLIP_GENERATOR_H_

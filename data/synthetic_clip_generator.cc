#include "data/synthetic_clip_generator.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/shape_geometry.h"
#include "data/splitmix64.h"

namespace vidserve::data {
namespace {

// Object radius as a fraction of the frame's smaller side.
constexpr double kSmallRadiusFraction = 0.11;
constexpr double kLargeRadiusFraction = 0.19;
// Grow and shrink run between these scales: an area ratio of ~4.7, unmistakable.
constexpr double kMinScale = 0.6;
constexpr double kMaxScale = 1.3;
// Linear motions travel this fraction of the frame along their axis.
constexpr double kTravelFraction = 0.4;
constexpr double kRotationDeg = 90;
// Background colours must be at least this far (RGB Euclidean) from every object colour,
// base and texture shade alike, so objects stand out on every texture.
constexpr int kMinObjectBackgroundDistance = 100;
constexpr int kNoiseAmplitude = 16;  // per channel, +-

// splitmix64 as a stream: tiny, fast, and the same on every platform.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(SplitMix64(seed ^ 0x5EEDC11Bull)) {}
  uint64_t Next() { return SplitMix64(state_++); }
  double Uniform(double lo, double hi) {  // [lo, hi)
    return lo + (hi - lo) * static_cast<double>(Next() >> 11) * 0x1.0p-53;
  }
  int Index(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

double Lerp(double a, double b, double u) { return a + (b - a) * u; }

// Folds v into [lo, hi] as a ball reflecting off walls at lo and hi would.
double Reflect(double v, double lo, double hi) {
  const double span = hi - lo;
  if (span <= 0) return lo;
  double d = std::fmod(v - lo, 2 * span);
  if (d < 0) d += 2 * span;
  return lo + (d > span ? 2 * span - d : d);
}

// Distance from the centre an object's centre must keep from every border.
double Margin(const ObjectSpec& o) {
  return ShapeExtent(o.shape) * o.radius_px * std::max(o.start_scale, o.end_scale) + 1.0;
}

void SampleMotionPath(Prng& rng, int height, int width, ObjectSpec& o) {
  if (o.motion == Motion::kGrow) {
    o.start_scale = kMinScale;
    o.end_scale = kMaxScale;
  } else if (o.motion == Motion::kShrink) {
    o.start_scale = kMaxScale;
    o.end_scale = kMinScale;
  }
  const double m = Margin(o);
  const double x_lo = m, x_hi = width - m, y_lo = m, y_hi = height - m;
  o.start_x_px = rng.Uniform(x_lo, x_hi);
  o.start_y_px = rng.Uniform(y_lo, y_hi);
  o.end_x_px = o.start_x_px;
  o.end_y_px = o.start_y_px;
  // A linear move of `travel` along one axis, in direction `sign`, starting where the end
  // stays inside [lo, hi].
  auto linear = [&rng](double lo, double hi, double travel, int sign, double& start, double& end) {
    travel = std::min(travel, hi - lo);
    start = sign > 0 ? rng.Uniform(lo, hi - travel) : rng.Uniform(lo + travel, hi);
    end = start + sign * travel;
  };
  switch (o.motion) {
    case Motion::kLeft:
      linear(x_lo, x_hi, kTravelFraction * width, -1, o.start_x_px, o.end_x_px);
      break;
    case Motion::kRight:
      linear(x_lo, x_hi, kTravelFraction * width, +1, o.start_x_px, o.end_x_px);
      break;
    case Motion::kUp:
      linear(y_lo, y_hi, kTravelFraction * height, -1, o.start_y_px, o.end_y_px);
      break;
    case Motion::kDown:
      linear(y_lo, y_hi, kTravelFraction * height, +1, o.start_y_px, o.end_y_px);
      break;
    case Motion::kRotate: o.end_angle_deg = rng.Index(2) == 0 ? kRotationDeg : -kRotationDeg; break;
    case Motion::kBounce: {
      // Exactly one reflection, with both legs long enough to see: the first leg runs to
      // the wall, the second comes back part of the way.
      const bool horizontal = rng.Index(2) == 0;
      const int sign = rng.Index(2) == 0 ? 1 : -1;
      const double lo = horizontal ? x_lo : y_lo, hi = horizontal ? x_hi : y_hi;
      const double span = hi - lo;
      const double first_leg = span * rng.Uniform(0.3, 0.6);
      const double second_leg = span * rng.Uniform(0.3, 0.8);
      const double start = sign > 0 ? hi - first_leg : lo + first_leg;
      const double end = start + sign * (first_leg + second_leg);
      (horizontal ? o.start_x_px : o.start_y_px) = start;
      (horizontal ? o.end_x_px : o.end_y_px) = end;
      break;
    }
    case Motion::kStill:
    case Motion::kGrow:
    case Motion::kShrink: break;
  }
}

BackgroundSpec SampleBackground(Prng& rng, const SyntheticClipOptions& options,
                                const std::vector<ObjectSpec>& objects) {
  BackgroundSpec bg;
  const bool textured = rng.Uniform(0, 1) < options.textured_background_probability;
  bg.texture = textured ? kAllTextures[1 + rng.Index(3)] : Texture::kSolid;
  bg.noise_seed = rng.Next();
  const int min_d2 = kMinObjectBackgroundDistance * kMinObjectBackgroundDistance;
  std::vector<Colour> candidates;
  for (int i = 0; i < kNumColours; ++i) {
    const Rgb base = PaletteRgb(ColourFromIndex(i));
    bool far = true;
    for (const ObjectSpec& o : objects) {
      const Rgb obj = PaletteRgb(o.colour);
      far = far && RgbDistanceSquared(obj, base) >= min_d2 &&
            RgbDistanceSquared(obj, TextureShade(base)) >= min_d2;
    }
    if (far) candidates.push_back(ColourFromIndex(i));
  }
  // Black is far from every object colour, so the fallback only guards the invariant.
  bg.colour = candidates.empty() ? Colour::kBlack : candidates[rng.Index(candidates.size())];
  return bg;
}

Rgb BackgroundPixel(const BackgroundSpec& bg, Rgb base, Rgb shade, int x, int y) {
  switch (bg.texture) {
    case Texture::kSolid: return base;
    case Texture::kStripes: return (x / bg.period_px) % 2 == 0 ? base : shade;
    case Texture::kChecker: return (x / bg.period_px + y / bg.period_px) % 2 == 0 ? base : shade;
    case Texture::kNoise: {
      const uint64_t h = SplitMix64(bg.noise_seed ^ (uint64_t(y) << 32 | uint32_t(x)));
      auto jitter = [](uint8_t v, uint64_t bits) {
        const int d = static_cast<int>(bits % (2 * kNoiseAmplitude + 1)) - kNoiseAmplitude;
        return static_cast<uint8_t>(std::clamp(int(v) + d, 0, 255));
      };
      return {jitter(base.r, h), jitter(base.g, h >> 16), jitter(base.b, h >> 32)};
    }
  }
  return base;
}

std::string WithArticle(absl::string_view words) {
  const bool vowel =
      !words.empty() && absl::string_view("aeiou").find(words[0]) != absl::string_view::npos;
  return absl::StrCat(vowel ? "an " : "a ", words);
}

}  // namespace

Rgb TextureShade(Rgb base) {
  const bool bright = int(base.r) + base.g + base.b > 3 * 100;
  auto move = [bright](uint8_t v) {
    const double target = bright ? 0.0 : 255.0;
    return static_cast<uint8_t>(std::lround(v + 0.35 * (target - v)));
  };
  return {move(base.r), move(base.g), move(base.b)};
}

absl::Status ValidateSyntheticClipOptions(const SyntheticClipOptions& o) {
  auto bad = [](absl::string_view field, auto value) {
    return absl::InvalidArgumentError(
        absl::StrCat("SyntheticClipOptions: bad ", field, " = ", value));
  };
  if (o.frames < 1) return bad("frames", o.frames);
  if (o.height < 16) return bad("height", o.height);
  if (o.width < 16) return bad("width", o.width);
  if (o.min_objects < 1) return bad("min_objects", o.min_objects);
  if (o.max_objects < o.min_objects || o.max_objects > kNumObjectColours) {
    return bad("max_objects", o.max_objects);
  }
  if (o.supersample < 1) return bad("supersample", o.supersample);
  if (!(o.textured_background_probability >= 0 && o.textured_background_probability <= 1)) {
    return bad("textured_background_probability", o.textured_background_probability);
  }
  return absl::OkStatus();
}

ClipSpec SampleSpec(uint64_t seed, const SyntheticClipOptions& options) {
  Prng rng(seed);
  ClipSpec spec;
  spec.frames = options.frames;
  spec.height = options.height;
  spec.width = options.width;
  spec.fps = options.fps;
  spec.supersample = options.supersample;
  // Clamped so that even invalid options cannot run out of distinct colours.
  const int lo = std::clamp(options.min_objects, 1, kNumObjectColours);
  const int hi = std::clamp(options.max_objects, lo, kNumObjectColours);
  const int count = lo + rng.Index(hi - lo + 1);
  std::vector<int> colours;  // object palette indices not yet used
  for (int i = 0; i < kNumObjectColours; ++i) colours.push_back(i);
  const double side = std::min(options.height, options.width);
  for (int i = 0; i < count; ++i) {
    ObjectSpec o;
    o.shape = kAllShapes[rng.Index(kAllShapes.size())];
    const int c = rng.Index(colours.size());
    o.colour = ColourFromIndex(colours[c]);
    colours.erase(colours.begin() + c);
    o.size = rng.Index(2) == 0 ? Size::kSmall : Size::kLarge;
    o.radius_px = side * (o.size == Size::kSmall ? kSmallRadiusFraction : kLargeRadiusFraction);
    std::vector<Motion> motions;
    for (Motion m : options.motions) {
      if (!(m == Motion::kRotate && o.shape == Shape::kCircle)) motions.push_back(m);
    }
    o.motion = motions.empty() ? Motion::kStill : motions[rng.Index(motions.size())];
    SampleMotionPath(rng, options.height, options.width, o);
    spec.objects.push_back(o);
  }
  spec.background = SampleBackground(rng, options, spec.objects);
  return spec;
}

media::VideoFrames Render(const ClipSpec& spec) {
  media::VideoFrames video;
  video.frames = spec.frames;
  video.height = spec.height;
  video.width = spec.width;
  video.fps = spec.fps;
  video.rgb.resize(video.ExpectedBytes());
  if (video.rgb.empty()) return video;

  // The background is static: draw it once and copy it into every frame.
  std::vector<uint8_t> background(video.FrameBytes());
  const Rgb base = PaletteRgb(spec.background.colour);
  const Rgb shade = TextureShade(base);
  for (int y = 0; y < spec.height; ++y) {
    for (int x = 0; x < spec.width; ++x) {
      const Rgb p = BackgroundPixel(spec.background, base, shade, x, y);
      uint8_t* out = &background[(static_cast<size_t>(y) * spec.width + x) * 3];
      out[0] = p.r;
      out[1] = p.g;
      out[2] = p.b;
    }
  }

  const int ss = std::max(1, spec.supersample);
  const double inv_samples = 1.0 / (ss * ss);
  for (int t = 0; t < spec.frames; ++t) {
    uint8_t* frame = video.Frame(t);
    std::copy(background.begin(), background.end(), frame);
    const double u = spec.frames > 1 ? static_cast<double>(t) / (spec.frames - 1) : 0.0;
    // Back to front, so objects[0] ends on top.
    for (auto it = spec.objects.rbegin(); it != spec.objects.rend(); ++it) {
      const ObjectSpec& o = *it;
      double cx = Lerp(o.start_x_px, o.end_x_px, u);
      double cy = Lerp(o.start_y_px, o.end_y_px, u);
      if (o.motion == Motion::kBounce) {
        const double m = Margin(o);
        cx = Reflect(cx, m, spec.width - m);
        cy = Reflect(cy, m, spec.height - m);
      }
      const double r = o.radius_px * Lerp(o.start_scale, o.end_scale, u);
      if (r <= 0) continue;
      const double angle = Lerp(o.start_angle_deg, o.end_angle_deg, u) * kPi / 180;
      const double ca = std::cos(angle), sa = std::sin(angle);
      const double reach = ShapeExtent(o.shape) * r + 1;
      const int x0 = std::max(0, static_cast<int>(std::floor(cx - reach)));
      const int x1 = std::min(spec.width - 1, static_cast<int>(std::ceil(cx + reach)));
      const int y0 = std::max(0, static_cast<int>(std::floor(cy - reach)));
      const int y1 = std::min(spec.height - 1, static_cast<int>(std::ceil(cy + reach)));
      const Rgb colour = PaletteRgb(o.colour);
      for (int y = y0; y <= y1; ++y) {
        for (int x = x0; x <= x1; ++x) {
          int inside = 0;
          for (int sy = 0; sy < ss; ++sy) {
            for (int sx = 0; sx < ss; ++sx) {
              const double dx = x + (sx + 0.5) / ss - cx, dy = y + (sy + 0.5) / ss - cy;
              // Undo the rotation, then scale into the unit shape.
              const double lx = (ca * dx + sa * dy) / r, ly = (-sa * dx + ca * dy) / r;
              inside += InsideUnitShape(o.shape, lx, ly) ? 1 : 0;
            }
          }
          if (inside == 0) continue;
          const double a = inside * inv_samples;
          uint8_t* p = frame + (static_cast<size_t>(y) * spec.width + x) * 3;
          p[0] = static_cast<uint8_t>(std::lround(p[0] * (1 - a) + colour.r * a));
          p[1] = static_cast<uint8_t>(std::lround(p[1] * (1 - a) + colour.g * a));
          p[2] = static_cast<uint8_t>(std::lround(p[2] * (1 - a) + colour.b * a));
        }
      }
    }
  }
  return video;
}

std::string Caption(const ClipSpec& spec) {
  std::vector<std::string> parts;
  for (const ObjectSpec& o : spec.objects) {
    parts.push_back(WithArticle(absl::StrCat(SizeName(o.size), " ", ColourName(o.colour), " ",
                                             ShapeName(o.shape), " ", MotionPhrase(o.motion))));
  }
  const absl::string_view adjective = TextureAdjective(spec.background.texture);
  const std::string background =
      adjective.empty() ? std::string(ColourName(spec.background.colour))
                        : absl::StrCat(ColourName(spec.background.colour), " ", adjective);
  return absl::StrCat(absl::StrJoin(parts, " and "), " on ", WithArticle(background),
                      " background");
}

bool IsHeldOut(uint64_t seed) { return SplitMix64(seed ^ 0xE7A1u) % 10 == 0; }

namespace {
std::vector<uint64_t> FirstSeeds(int count, bool held_out) {
  std::vector<uint64_t> seeds;
  for (uint64_t s = 0; static_cast<int>(seeds.size()) < count; ++s) {
    if (IsHeldOut(s) == held_out) seeds.push_back(s);
  }
  return seeds;
}
}  // namespace

std::vector<uint64_t> TrainSeeds(int count) { return FirstSeeds(count, false); }
std::vector<uint64_t> HeldOutSeeds(int count) { return FirstSeeds(count, true); }

}  // namespace vidserve::data

#include "data/clip_detector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "data/shape_geometry.h"

namespace vidserve::data {
namespace {

// Border samples come from the first, middle and last frames, at most this many per
// frame, which bounds the quadratic mode search.
constexpr int kMaxBorderSamplesPerFrame = 400;

Rgb PixelAt(const media::VideoFrames& v, int t, int y, int x) {
  const uint8_t* p = v.Frame(t) + (static_cast<size_t>(y) * v.width + x) * 3;
  return {p[0], p[1], p[2]};
}

struct Mode {
  Rgb colour;
  int support = 0;  // samples within the radius
};

// The sample with the most samples within `radius`, averaged over those neighbours.
Mode DensestMode(const std::vector<Rgb>& samples, double radius) {
  const int r2 = static_cast<int>(radius * radius);
  int best = -1, best_count = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    int count = 0;
    for (const Rgb& s : samples) count += RgbDistanceSquared(samples[i], s) <= r2 ? 1 : 0;
    if (count > best_count) {
      best = static_cast<int>(i);
      best_count = count;
    }
  }
  Mode mode;
  if (best < 0) return mode;
  std::array<long, 3> sum = {0, 0, 0};
  for (const Rgb& s : samples) {
    if (RgbDistanceSquared(samples[best], s) > r2) continue;
    sum[0] += s.r;
    sum[1] += s.g;
    sum[2] += s.b;
  }
  auto avg = [&](long v) { return static_cast<uint8_t>(std::lround(double(v) / best_count)); };
  mode.colour = {avg(sum[0]), avg(sum[1]), avg(sum[2])};
  mode.support = best_count;
  return mode;
}

std::vector<Rgb> BorderSamples(const media::VideoFrames& v) {
  std::vector<std::pair<int, int>> border;  // (y, x)
  for (int x = 0; x < v.width; ++x) {
    border.push_back({0, x});
    if (v.height > 1) border.push_back({v.height - 1, x});
  }
  for (int y = 1; y + 1 < v.height; ++y) {
    border.push_back({y, 0});
    if (v.width > 1) border.push_back({y, v.width - 1});
  }
  const size_t stride = std::max<size_t>(1, border.size() / kMaxBorderSamplesPerFrame);
  std::vector<Rgb> samples;
  for (int t : {0, v.frames / 2, v.frames - 1}) {
    for (size_t i = 0; i < border.size(); i += stride) {
      samples.push_back(PixelAt(v, t, border[i].first, border[i].second));
    }
  }
  return samples;
}

std::vector<Rgb> BackgroundModes(const media::VideoFrames& v, const ClipDetectorOptions& opt) {
  const std::vector<Rgb> samples = BorderSamples(v);
  const Mode first = DensestMode(samples, opt.background_radius);
  std::vector<Rgb> modes = {first.colour};
  std::vector<Rgb> rest;
  const int r2 = static_cast<int>(opt.background_radius * opt.background_radius);
  for (const Rgb& s : samples) {
    if (RgbDistanceSquared(s, first.colour) > r2) rest.push_back(s);
  }
  const Mode second = DensestMode(rest, opt.background_radius);
  if (second.support >= opt.min_second_mode_fraction * samples.size()) {
    modes.push_back(second.colour);
  }
  return modes;
}

int NearestObjectColour(Rgb p) {
  int best = 0, best_d2 = RgbDistanceSquared(p, PaletteRgb(ColourFromIndex(0)));
  for (int c = 1; c < kNumObjectColours; ++c) {
    const int d2 = RgbDistanceSquared(p, PaletteRgb(ColourFromIndex(c)));
    if (d2 < best_d2) {
      best = c;
      best_d2 = d2;
    }
  }
  return best;
}

int NearestModeDistanceSquared(Rgb p, const std::vector<Rgb>& modes) {
  int best = RgbDistanceSquared(p, modes[0]);
  for (size_t i = 1; i < modes.size(); ++i) best = std::min(best, RgbDistanceSquared(p, modes[i]));
  return best;
}

Rgb NearestMode(Rgb p, const std::vector<Rgb>& modes) {
  Rgb best = modes[0];
  for (const Rgb& m : modes) {
    if (RgbDistanceSquared(p, m) < RgbDistanceSquared(p, best)) best = m;
  }
  return best;
}

// True when p lies within sqrt(blend2) of the segment from `other` to `colour`, on the
// `colour` half: what an anti-aliased edge of a `colour` object over `other` looks like.
bool OnBlendTowards(Rgb p, Rgb colour, Rgb other, double blend2) {
  const double ex = colour.r - other.r, ey = colour.g - other.g, ez = colour.b - other.b;
  const double px = p.r - other.r, py = p.g - other.g, pz = p.b - other.b;
  const double len2 = ex * ex + ey * ey + ez * ez;
  if (len2 == 0) return false;
  const double a = std::clamp((px * ex + py * ey + pz * ez) / len2, 0.0, 1.0);
  const double dx = px - a * ex, dy = py - a * ey, dz = pz - a * ez;
  return a >= 0.5 && dx * dx + dy * dy + dz * dz <= blend2;
}

// Whether p is explained as `colour` blended with the background or with another object.
// Nearest-colour alone is not enough: the blended edge of one object can lie nearest a
// third palette colour and would paint a stray ring into that colour's mask.
bool MostlyColour(Rgb p, Rgb colour, Rgb background, const std::vector<Rgb>& others,
                  double blend2) {
  if (OnBlendTowards(p, colour, background, blend2)) return true;
  for (const Rgb& o : others) {
    if (OnBlendTowards(p, colour, o, blend2)) return true;
  }
  return false;
}

struct FrameStats {
  int area = 0;
  double cx = 0, cy = 0;  // centroid, pixel-centre coordinates
  bool touches_border = false;
  bool has_core = false;
  double elongation = 1;
  double radial_cv = 0;
  std::vector<uint8_t> mask;
};

// Rotations tried per shape: this many steps over its rotational period.
constexpr int kTemplateRotations = 36;

// The IoU of the mask with `shape` drawn at the mask's area and centroid (pixel centres
// inside the shape), at the best of kTemplateRotations rotations.
double BestTemplateIou(int width, const FrameStats& f, Shape shape) {
  const int height = static_cast<int>(f.mask.size()) / width;
  const double r = std::sqrt(f.area / UnitShapeArea(shape));
  const double reach = ShapeExtent(shape) * r + 1;
  const int x0 = std::max(0, static_cast<int>(std::floor(f.cx - reach)));
  const int x1 = std::min(width - 1, static_cast<int>(std::ceil(f.cx + reach)));
  const int y0 = std::max(0, static_cast<int>(std::floor(f.cy - reach)));
  const int y1 = std::min(height - 1, static_cast<int>(std::ceil(f.cy + reach)));
  const double period = RotationalPeriodDegrees(shape);
  const int rotations = period > 0 ? kTemplateRotations : 1;
  double best = 0;
  for (int k = 0; k < rotations; ++k) {
    const double a = period * k / rotations * kPi / 180;
    const double ca = std::cos(a), sa = std::sin(a);
    int inter = 0, in_template = 0;
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        const double dx = (x + 0.5 - f.cx) / r, dy = (y + 0.5 - f.cy) / r;
        // Rotate the point back by a: the shape rotated by a contains it.
        if (!InsideUnitShape(shape, ca * dx + sa * dy, -sa * dx + ca * dy)) continue;
        ++in_template;
        inter += f.mask[static_cast<size_t>(y) * width + x];
      }
    }
    const int uni = f.area + in_template - inter;
    if (uni > 0) best = std::max(best, static_cast<double>(inter) / uni);
  }
  return best;
}

void ComputeShapeFeatures(int width, FrameStats& f) {
  std::vector<std::pair<double, double>> pts;  // offsets from the centroid
  const int height = static_cast<int>(f.mask.size()) / width;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      if (f.mask[static_cast<size_t>(y) * width + x])
        pts.push_back({x + 0.5 - f.cx, y + 0.5 - f.cy});
    }
  }
  double sxx = 0, syy = 0, sxy = 0;
  for (const auto& [dx, dy] : pts) {
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  const double n = pts.size();
  sxx /= n;
  syy /= n;
  sxy /= n;
  const double mean = (sxx + syy) / 2, diff = std::sqrt((sxx - syy) * (sxx - syy) / 4 + sxy * sxy);
  const double l1 = mean + diff, l2 = std::max(mean - diff, 1e-9);
  f.elongation = l1 / l2;
  // Outline pixels: in the mask with a 4-neighbour outside it.
  double bsum = 0, bsum2 = 0;
  int bn = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      auto at = [&](int yy, int xx) {
        return yy >= 0 && xx >= 0 && yy < height && xx < width &&
               f.mask[static_cast<size_t>(yy) * width + xx];
      };
      if (!at(y, x) || (at(y - 1, x) && at(y + 1, x) && at(y, x - 1) && at(y, x + 1))) continue;
      const double r = std::hypot(x + 0.5 - f.cx, y + 0.5 - f.cy);
      bsum += r;
      bsum2 += r * r;
      ++bn;
    }
  }
  const double bmean = bsum / bn;
  f.radial_cv = std::sqrt(std::max(0.0, bsum2 / bn - bmean * bmean)) / bmean;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// The shape features of `out`: medians over the larger half of the frames that keep off
// the border (all frames when none does). Templates are fitted to those frames only.
void MeasureShapeFeatures(const std::vector<FrameStats>& frames, int width, DetectedObject& out) {
  std::vector<const FrameStats*> use;
  for (const FrameStats& f : frames) {
    if (!f.touches_border) use.push_back(&f);
  }
  if (use.empty()) {
    for (const FrameStats& f : frames) use.push_back(&f);
  }
  // The larger half: small masks are the most distorted by pixelisation.
  std::sort(use.begin(), use.end(),
            [](const FrameStats* a, const FrameStats* b) { return a->area > b->area; });
  use.resize((use.size() + 1) / 2);
  std::vector<double> elong, cv;
  for (const FrameStats* f : use) {
    elong.push_back(f->elongation);
    cv.push_back(f->radial_cv);
  }
  out.elongation = Median(elong);
  out.radial_cv = Median(cv);
  for (Shape shape : kAllShapes) {
    std::vector<double> iou;
    for (const FrameStats* f : use) iou.push_back(BestTemplateIou(width, *f, shape));
    out.template_iou[static_cast<size_t>(shape)] = Median(iou);
  }
}

}  // namespace

std::optional<Shape> JudgeShape(const DetectedObject& object, const ClipDetectorOptions& opt) {
  if (opt.shape_rule == ShapeRule::kRadialCv) {
    if (object.elongation >= opt.diamond_min_elongation) return Shape::kDiamond;
    if (object.radial_cv <= opt.circle_max_radial_cv) return Shape::kCircle;
    if (object.radial_cv <= opt.square_max_radial_cv) return Shape::kSquare;
    return Shape::kTriangle;
  }
  auto fit = [&](Shape shape) { return object.template_iou[static_cast<size_t>(shape)]; };
  Shape best = Shape::kDiamond;
  if (object.elongation < opt.diamond_min_elongation) {
    best = Shape::kCircle;
    for (Shape shape : {Shape::kSquare, Shape::kTriangle}) {
      if (fit(shape) > fit(best)) best = shape;
    }
  }
  if (fit(best) < opt.min_template_iou) return std::nullopt;
  return best;
}

namespace {

// Intersection over union of two masks after shifting `b` by (dx, dy).
double ShiftedIou(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int width, int dx,
                  int dy) {
  const int height = static_cast<int>(a.size()) / width;
  int inter = 0, uni = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int bx = x + dx, by = y + dy;
      const bool in_b = bx >= 0 && by >= 0 && bx < width && by < height &&
                        b[static_cast<size_t>(by) * width + bx];
      const bool in_a = a[static_cast<size_t>(y) * width + x];
      inter += in_a && in_b;
      uni += in_a || in_b;
    }
  }
  return uni == 0 ? 1.0 : double(inter) / uni;
}

// True when one axis of the track goes out and comes back, both legs at least `min_leg`.
bool Reverses(const std::vector<double>& p, double min_leg) {
  if (p.size() < 3) return false;
  const auto [lo, hi] = std::minmax_element(p.begin(), p.end());
  for (auto it : {lo, hi}) {
    if (std::abs(*it - p.front()) >= min_leg && std::abs(*it - p.back()) >= min_leg) return true;
  }
  return false;
}

Motion ClassifyMotion(const std::vector<FrameStats>& frames, int width, int height,
                      const ClipDetectorOptions& opt, DetectedObject& out) {
  const double side = std::max(width, height);
  std::vector<double> xs, ys;
  for (const FrameStats& f : frames) {
    xs.push_back(f.cx);
    ys.push_back(f.cy);
  }
  const FrameStats& first = frames.front();
  const FrameStats& last = frames.back();
  out.displacement_x_px = last.cx - first.cx;
  out.displacement_y_px = last.cy - first.cy;
  // Two frames at each end steady the area against pixelisation.
  const size_t n = frames.size();
  const double a0 = n >= 4 ? (frames[0].area + frames[1].area) / 2.0 : first.area;
  const double a1 = n >= 4 ? (frames[n - 1].area + frames[n - 2].area) / 2.0 : last.area;
  out.area_ratio = a1 / a0;
  for (const FrameStats& f : frames) {
    const int dx = static_cast<int>(std::lround(f.cx - first.cx));
    const int dy = static_cast<int>(std::lround(f.cy - first.cy));
    out.min_aligned_iou =
        std::min(out.min_aligned_iou, ShiftedIou(first.mask, f.mask, width, dx, dy));
  }

  const double min_leg = std::max(2.0, opt.min_bounce_leg_fraction * side);
  if (Reverses(xs, min_leg) || Reverses(ys, min_leg)) return Motion::kBounce;
  const double dx = out.displacement_x_px, dy = out.displacement_y_px;
  if (std::max(std::abs(dx), std::abs(dy)) >= opt.min_translation_fraction * side) {
    if (std::abs(dx) >= std::abs(dy)) return dx > 0 ? Motion::kRight : Motion::kLeft;
    return dy > 0 ? Motion::kDown : Motion::kUp;
  }
  if (out.area_ratio >= opt.grow_area_ratio) return Motion::kGrow;
  if (out.area_ratio <= 1.0 / opt.grow_area_ratio) return Motion::kShrink;
  if (out.min_aligned_iou < opt.rotate_max_iou) return Motion::kRotate;
  return Motion::kStill;
}

// The mask of the object of colour `colour` in every frame where it counts, as seen
// against the background `modes` and the other candidate colours `others`.
std::vector<FrameStats> ObjectFrames(const media::VideoFrames& video, const std::vector<Rgb>& modes,
                                     Rgb colour, const std::vector<Rgb>& others,
                                     const ClipDetectorOptions& opt) {
  const int fg2 = static_cast<int>(opt.foreground_distance * opt.foreground_distance);
  const double blend2 = opt.max_blend_distance * opt.max_blend_distance;
  const int w = video.width, h = video.height;
  std::vector<FrameStats> frames;
  for (int t = 0; t < video.frames; ++t) {
    FrameStats f;
    f.mask.assign(static_cast<size_t>(h) * w, 0);
    double sx = 0, sy = 0;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const Rgb p = PixelAt(video, t, y, x);
        const int bg2 = NearestModeDistanceSquared(p, modes);
        if (bg2 <= fg2) continue;
        const int d2 = RgbDistanceSquared(p, colour);
        if (d2 >= bg2) continue;
        bool nearest = true;
        for (const Rgb& o : others) nearest = nearest && d2 <= RgbDistanceSquared(p, o);
        if (!nearest || !MostlyColour(p, colour, NearestMode(p, modes), others, blend2)) continue;
        f.mask[static_cast<size_t>(y) * w + x] = 1;
        ++f.area;
        sx += x + 0.5;
        sy += y + 0.5;
        f.touches_border = f.touches_border || x == 0 || y == 0 || x == w - 1 || y == h - 1;
      }
    }
    for (int y = 1; y + 1 < h && !f.has_core; ++y) {
      for (int x = 1; x + 1 < w && !f.has_core; ++x) {
        const uint8_t* m = &f.mask[static_cast<size_t>(y) * w + x];
        f.has_core = m[0] && m[-1] && m[1] && m[-w] && m[w];
      }
    }
    if (f.area < opt.min_object_pixels || !f.has_core) continue;
    f.cx = sx / f.area;
    f.cy = sy / f.area;
    ComputeShapeFeatures(w, f);
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace

absl::StatusOr<ClipDetection> DetectClip(const media::VideoFrames& video,
                                         const ClipDetectorOptions& opt) {
  if (video.frames < 1 || video.height < 1 || video.width < 1) {
    return absl::InvalidArgumentError(absl::StrCat("DetectClip: empty video (frames=", video.frames,
                                                   " height=", video.height, " width=", video.width,
                                                   ")"));
  }
  if (video.rgb.size() != video.ExpectedBytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("DetectClip: rgb holds ", video.rgb.size(),
                     " bytes, frames*height*width*3 = ", video.ExpectedBytes()));
  }
  ClipDetection out;
  const std::vector<Rgb> modes = BackgroundModes(video, opt);
  out.background = modes[0];
  const int fg2 = static_cast<int>(opt.foreground_distance * opt.foreground_distance);

  std::array<long, kNumObjectColours> votes{};
  long total = 0;
  for (int t = 0; t < video.frames; ++t) {
    for (int y = 0; y < video.height; ++y) {
      for (int x = 0; x < video.width; ++x) {
        const Rgb p = PixelAt(video, t, y, x);
        if (NearestModeDistanceSquared(p, modes) <= fg2) continue;
        ++votes[NearestObjectColour(p)];
        ++total;
      }
    }
  }
  if (total == 0) return out;
  std::vector<int> candidates;
  for (int c = 0; c < kNumObjectColours; ++c) {
    if (votes[c] > 0 && votes[c] >= opt.min_object_pixel_fraction * total) candidates.push_back(c);
  }
  std::sort(candidates.begin(), candidates.end(),
            [&](int a, int b) { return votes[a] > votes[b]; });
  for (int c : candidates) {
    std::vector<Rgb> others;
    for (int o : candidates) {
      if (o != c) others.push_back(PaletteRgb(ColourFromIndex(o)));
    }
    const std::vector<FrameStats> frames =
        ObjectFrames(video, modes, PaletteRgb(ColourFromIndex(c)), others, opt);
    if (frames.empty() || 2 * static_cast<int>(frames.size()) < video.frames) continue;
    DetectedObject object;
    object.colour = ColourFromIndex(c);
    object.pixel_fraction = double(votes[c]) / total;
    object.frames_with_object = static_cast<int>(frames.size());
    MeasureShapeFeatures(frames, video.width, object);
    object.shape = JudgeShape(object, opt);
    object.motion = ClassifyMotion(frames, video.width, video.height, opt, object);
    out.objects.push_back(object);
  }
  return out;
}

ClipScore Score(const ClipDetection& d, const ExpectedAttributes& expected) {
  ClipScore s;
  const DetectedObject* subject = d.found() ? &d.objects.front() : nullptr;
  if (expected.colour) {
    s.colour_correct = false;
    for (const DetectedObject& o : d.objects) {
      if (o.colour == *expected.colour) {
        s.colour_correct = true;
        subject = &o;
        break;
      }
    }
  }
  if (subject != nullptr) {
    s.judged_shape = subject->shape;
    s.judged_motion = subject->motion;
  }
  if (expected.shape) s.shape_correct = subject != nullptr && subject->shape == *expected.shape;
  if (expected.motion) {
    s.motion_correct = subject != nullptr && subject->motion == *expected.motion;
  }
  return s;
}

}  // namespace vidserve::data

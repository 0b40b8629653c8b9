#include "data/clip_resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vidserve::data {
namespace {

absl::Status CheckConsistent(const media::VideoFrames& v, const char* who) {
  if (v.frames < 1 || v.height < 1 || v.width < 1 || v.rgb.size() != v.ExpectedBytes()) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": inconsistent clip (frames=", v.frames,
                                                   " height=", v.height, " width=", v.width,
                                                   " rgb bytes=", v.rgb.size(), ")"));
  }
  return absl::OkStatus();
}

struct Tap {
  int index;
  double weight;
};

// For each of `out` output samples over the source span [begin, begin + length), the
// source samples it covers and their normalised overlap weights.
std::vector<std::vector<Tap>> Taps(int begin, int length, int out, ResizeFilter filter) {
  std::vector<std::vector<Tap>> taps(out);
  const double scale = double(length) / out;
  for (int o = 0; o < out; ++o) {
    if (filter == ResizeFilter::kNearest) {
      const int s = std::min(length - 1, static_cast<int>((o + 0.5) * scale));
      taps[o].push_back({begin + s, 1.0});
      continue;
    }
    const double lo = o * scale, hi = (o + 1) * scale;
    for (int s = static_cast<int>(std::floor(lo)); s < hi && s < length; ++s) {
      const double w = std::min<double>(hi, s + 1) - std::max<double>(lo, s);
      if (w > 1e-12) taps[o].push_back({begin + s, w / scale});
    }
  }
  return taps;
}

}  // namespace

absl::StatusOr<media::VideoFrames> CropAndResize(const media::VideoFrames& video, int height,
                                                 int width, ResizeFilter filter) {
  if (height < 1 || width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CropAndResize: target must be positive, got ", height, "x", width));
  }
  if (absl::Status s = CheckConsistent(video, "CropAndResize"); !s.ok()) return s;
  // The largest centred window with the target's aspect ratio.
  int crop_h = video.height, crop_w = video.width;
  if (static_cast<long>(video.width) * height > static_cast<long>(video.height) * width) {
    crop_w = std::max(1, static_cast<int>(std::lround(double(video.height) * width / height)));
  } else {
    crop_h = std::max(1, static_cast<int>(std::lround(double(video.width) * height / width)));
  }
  const int y0 = (video.height - crop_h) / 2, x0 = (video.width - crop_w) / 2;
  const auto ty = Taps(y0, crop_h, height, filter);
  const auto tx = Taps(x0, crop_w, width, filter);

  media::VideoFrames out;
  out.frames = video.frames;
  out.height = height;
  out.width = width;
  out.fps = video.fps;
  out.rgb.resize(out.ExpectedBytes());
  for (int t = 0; t < video.frames; ++t) {
    const uint8_t* src = video.Frame(t);
    uint8_t* dst = out.Frame(t);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        double acc[3] = {0, 0, 0};
        for (const Tap& a : ty[y]) {
          for (const Tap& b : tx[x]) {
            const uint8_t* p = src + (static_cast<size_t>(a.index) * video.width + b.index) * 3;
            const double w = a.weight * b.weight;
            for (int c = 0; c < 3; ++c) acc[c] += w * p[c];
          }
        }
        uint8_t* q = dst + (static_cast<size_t>(y) * width + x) * 3;
        for (int c = 0; c < 3; ++c) {
          q[c] = static_cast<uint8_t>(std::clamp<long>(std::lround(acc[c]), 0, 255));
        }
      }
    }
  }
  return out;
}

absl::StatusOr<media::VideoFrames> TrimToFourKPlusOne(media::VideoFrames video) {
  if (absl::Status s = CheckConsistent(video, "TrimToFourKPlusOne"); !s.ok()) return s;
  video.frames = (video.frames - 1) / 4 * 4 + 1;
  video.rgb.resize(video.ExpectedBytes());
  return video;
}

}  // namespace vidserve::data

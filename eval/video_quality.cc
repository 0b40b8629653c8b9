#include "eval/video_quality.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vidserve::eval {
namespace {

std::string ShapeText(const media::VideoFrames& v) {
  return absl::StrCat(v.frames, "x", v.height, "x", v.width);
}

absl::Status CheckPair(const media::VideoFrames& reference, const media::VideoFrames& test) {
  for (const auto* v : {&reference, &test}) {
    if (v->frames < 1 || v->height < 1 || v->width < 1 || v->rgb.size() != v->ExpectedBytes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          v == &reference ? "reference" : "test", ": inconsistent clip (shape ", ShapeText(*v),
          " needs ", v->ExpectedBytes(), " bytes, has ", v->rgb.size(), " bytes)"));
    }
  }
  if (reference.frames != test.frames || reference.height != test.height ||
      reference.width != test.width) {
    return absl::InvalidArgumentError(absl::StrCat("clips differ in shape: reference is ",
                                                   ShapeText(reference), ", test is ",
                                                   ShapeText(test), " (frames x height x width)"));
  }
  return absl::OkStatus();
}

// The normalised 1-D Gaussian; the 2-D window is its outer product, so filtering rows and
// then columns with it equals Wang et al.'s 11x11 window.
std::array<double, kSsimWindow> GaussianWindow() {
  constexpr double kSigma = 1.5;
  std::array<double, kSsimWindow> g{};
  double sum = 0;
  for (int k = 0; k < kSsimWindow; ++k) {
    const double d = k - (kSsimWindow - 1) / 2.0;
    g[k] = std::exp(-d * d / (2 * kSigma * kSigma));
    sum += g[k];
  }
  for (double& v : g) v /= sum;
  return g;
}

// Mean SSIM of one channel of one frame. `x` and `y` point at the first sample of the
// channel in interleaved RGB rows.
double ChannelSsim(const uint8_t* x, const uint8_t* y, int height, int width) {
  static const std::array<double, kSsimWindow> g = GaussianWindow();
  constexpr double kC1 = (0.01 * 255) * (0.01 * 255);
  constexpr double kC2 = (0.03 * 255) * (0.03 * 255);
  const int out_h = height - kSsimWindow + 1, out_w = width - kSsimWindow + 1;

  // Horizontal pass over every row: the five local moments x, y, x^2, y^2, xy.
  std::array<std::vector<double>, 5> rows;
  for (auto& r : rows) r.assign(static_cast<size_t>(height) * out_w, 0.0);
  for (int i = 0; i < height; ++i) {
    for (int j = 0; j < out_w; ++j) {
      double m[5] = {0, 0, 0, 0, 0};
      for (int k = 0; k < kSsimWindow; ++k) {
        const size_t idx = (static_cast<size_t>(i) * width + j + k) * 3;
        const double a = x[idx], b = y[idx];
        m[0] += g[k] * a;
        m[1] += g[k] * b;
        m[2] += g[k] * a * a;
        m[3] += g[k] * b * b;
        m[4] += g[k] * a * b;
      }
      for (int s = 0; s < 5; ++s) rows[s][static_cast<size_t>(i) * out_w + j] = m[s];
    }
  }
  // Vertical pass and the SSIM formula at each valid position.
  double total = 0;
  for (int i = 0; i < out_h; ++i) {
    for (int j = 0; j < out_w; ++j) {
      double m[5] = {0, 0, 0, 0, 0};
      for (int k = 0; k < kSsimWindow; ++k) {
        const size_t idx = static_cast<size_t>(i + k) * out_w + j;
        for (int s = 0; s < 5; ++s) m[s] += g[k] * rows[s][idx];
      }
      const double mu_x = m[0], mu_y = m[1];
      const double var_x = m[2] - mu_x * mu_x, var_y = m[3] - mu_y * mu_y;
      const double cov = m[4] - mu_x * mu_y;
      total += ((2 * mu_x * mu_y + kC1) * (2 * cov + kC2)) /
               ((mu_x * mu_x + mu_y * mu_y + kC1) * (var_x + var_y + kC2));
    }
  }
  return total / (static_cast<double>(out_h) * out_w);
}

}  // namespace

absl::StatusOr<double> Psnr(const media::VideoFrames& reference, const media::VideoFrames& test) {
  if (absl::Status s = CheckPair(reference, test); !s.ok()) return s;
  // An integer sum is exact; uint64 holds 255^2 times 2^48 samples.
  uint64_t squared_error = 0;
  for (size_t i = 0; i < reference.rgb.size(); ++i) {
    const int d = static_cast<int>(reference.rgb[i]) - static_cast<int>(test.rgb[i]);
    squared_error += static_cast<uint64_t>(d * d);
  }
  if (squared_error == 0) return kPsnrCapDb;
  const double mse = static_cast<double>(squared_error) / static_cast<double>(reference.rgb.size());
  return std::min(kPsnrCapDb, 10.0 * std::log10(255.0 * 255.0 / mse));
}

absl::StatusOr<double> Ssim(const media::VideoFrames& reference, const media::VideoFrames& test) {
  if (absl::Status s = CheckPair(reference, test); !s.ok()) return s;
  if (reference.height < kSsimWindow || reference.width < kSsimWindow) {
    return absl::InvalidArgumentError(absl::StrCat("SSIM needs frames of at least ", kSsimWindow,
                                                   "x", kSsimWindow, " (its window), got ",
                                                   reference.height, "x", reference.width));
  }
  double total = 0;
  for (int t = 0; t < reference.frames; ++t) {
    double frame_ssim = 0;
    for (int c = 0; c < 3; ++c) {
      frame_ssim +=
          ChannelSsim(reference.Frame(t) + c, test.Frame(t) + c, reference.height, reference.width);
    }
    total += frame_ssim / 3;
  }
  return total / reference.frames;
}

absl::StatusOr<VideoQuality> MeasureVideoQuality(const media::VideoFrames& reference,
                                                 const media::VideoFrames& test) {
  absl::StatusOr<double> psnr = Psnr(reference, test);
  if (!psnr.ok()) return psnr.status();
  absl::StatusOr<double> ssim = Ssim(reference, test);
  if (!ssim.ok()) return ssim.status();
  return VideoQuality{*psnr, *ssim};
}

}  // namespace vidserve::eval

#include "train/video_losses.h"

#include <cmath>

namespace vidserve::train {
namespace {

// [B, C, T, H, W] -> [B*T, C, H, W].
torch::Tensor Frames(const torch::Tensor& video) {
  return video.transpose(1, 2).reshape({-1, video.size(1), video.size(3), video.size(4)});
}

// Depthwise separable Gaussian blur, valid padding.
torch::Tensor GaussianFilter(const torch::Tensor& x, const torch::Tensor& window_1d) {
  const int64_t c = x.size(1);
  const int64_t k = window_1d.size(0);
  auto horizontal = window_1d.view({1, 1, 1, k}).expand({c, 1, 1, k});
  auto vertical = window_1d.view({1, 1, k, 1}).expand({c, 1, k, 1});
  const torch::Tensor no_bias;
  const std::vector<int64_t> ones = {1, 1}, zeros = {0, 0};  // stride/dilation, padding
  auto y = torch::conv2d(x, horizontal, no_bias, ones, zeros, ones, c);
  return torch::conv2d(y, vertical, no_bias, ones, zeros, ones, c);
}

}  // namespace

torch::Tensor Ssim(const torch::Tensor& pred, const torch::Tensor& target) {
  constexpr int64_t kWindow = 11;
  constexpr double kSigma = 1.5;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  // Compute in fp32 even under autocast: the variance terms cancel catastrophically in bf16.
  auto x = (Frames(pred).to(torch::kFloat32) + 1) * 0.5;
  auto y = (Frames(target).to(torch::kFloat32) + 1) * 0.5;
  const int64_t window = std::min<int64_t>(kWindow, std::min(x.size(2), x.size(3)));
  auto coords = torch::arange(window, x.options()) - (window - 1) / 2.0;
  auto g = torch::exp(-(coords * coords) / (2 * kSigma * kSigma));
  g = g / g.sum();
  auto mu_x = GaussianFilter(x, g), mu_y = GaussianFilter(y, g);
  auto sigma_xx = GaussianFilter(x * x, g) - mu_x * mu_x;
  auto sigma_yy = GaussianFilter(y * y, g) - mu_y * mu_y;
  auto sigma_xy = GaussianFilter(x * y, g) - mu_x * mu_y;
  auto map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) /
             ((mu_x * mu_x + mu_y * mu_y + c1) * (sigma_xx + sigma_yy + c2));
  return map.mean();
}

torch::Tensor GradientL1(const torch::Tensor& pred, const torch::Tensor& target) {
  auto dx = [](const torch::Tensor& v) { return v.narrow(4, 1, v.size(4) - 1) - v.narrow(4, 0, v.size(4) - 1); };
  auto dy = [](const torch::Tensor& v) { return v.narrow(3, 1, v.size(3) - 1) - v.narrow(3, 0, v.size(3) - 1); };
  return 0.5 * ((dx(pred) - dx(target)).abs().mean() + (dy(pred) - dy(target)).abs().mean());
}

torch::Tensor GaussianKl(const torch::Tensor& mean, const torch::Tensor& logvar) {
  return 0.5 * (mean * mean + logvar.exp() - 1 - logvar).mean();
}

double PsnrDb(const torch::Tensor& pred, const torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  auto to_8bit = [](const torch::Tensor& v) {
    return ((v.detach().to(torch::kFloat32).clamp(-1, 1) + 1) * 127.5).round();
  };
  const double mse = (to_8bit(pred) - to_8bit(target)).pow(2).mean().item<double>();
  if (mse <= 0) return 100.0;
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace vidserve::train

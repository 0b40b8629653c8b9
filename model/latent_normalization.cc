#include "model/latent_normalization.h"

#include <algorithm>

namespace vidserve {
namespace {

torch::Tensor StatTensor(const std::vector<double>& values, int64_t channels, double fill,
                         const torch::Device& device) {
  std::vector<float> v(channels, static_cast<float>(fill));
  for (size_t i = 0; i < values.size() && i < v.size(); ++i) v[i] = static_cast<float>(values[i]);
  return torch::tensor(v, torch::kFloat32).to(device);
}

}  // namespace

LatentNormalizer::LatentNormalizer(const VaeConfig& vae, const torch::Device& device) {
  if (vae.latent_mean.empty() && vae.latent_std.empty()) return;
  mean_ = StatTensor(vae.latent_mean, vae.latent_channels, 0.0, device);
  std_ = StatTensor(vae.latent_std, vae.latent_channels, 1.0, device);
}

torch::Tensor LatentNormalizer::Shaped(const torch::Tensor& stat, int64_t dims) const {
  std::vector<int64_t> shape(dims, 1);
  shape[1] = stat.size(0);
  return stat.view(shape);
}

torch::Tensor LatentNormalizer::Normalize(const torch::Tensor& z) const {
  if (is_identity()) return z;
  return (z - Shaped(mean_, z.dim()).to(z.device(), z.scalar_type())) /
         Shaped(std_, z.dim()).to(z.device(), z.scalar_type());
}

torch::Tensor LatentNormalizer::Denormalize(const torch::Tensor& x) const {
  if (is_identity()) return x;
  return x * Shaped(std_, x.dim()).to(x.device(), x.scalar_type()) +
         Shaped(mean_, x.dim()).to(x.device(), x.scalar_type());
}

void MeasureLatentStatistics(const torch::Tensor& latents, std::vector<double>* mean,
                             std::vector<double>* std) {
  torch::NoGradGuard no_grad;
  const torch::Tensor per_channel = latents.detach().to(torch::kCPU, torch::kFloat64)
                                        .transpose(0, 1).reshape({latents.size(1), -1});
  const torch::Tensor m = per_channel.mean(1);
  const torch::Tensor s = per_channel.std(1, /*unbiased=*/false).clamp_min(1e-6);
  mean->assign(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
  std->assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

}  // namespace vidserve

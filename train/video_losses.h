// Losses and measures over video tensors [B, C, T, H, W] in [-1, 1], as the VAE and thin
// decoder stages use them. All are means, so their scale does not depend on clip size.
//
// Thread-safety: pure functions.
#ifndef VIDSERVE_TRAIN_VIDEO_LOSSES_H_
#define VIDSERVE_TRAIN_VIDEO_LOSSES_H_

#include <torch/torch.h>

namespace vidserve::train {

// Mean structural similarity over frames and channels (Wang et al. 2004: 11x11 Gaussian
// window, sigma 1.5, C1 = (0.01)^2, C2 = (0.03)^2 on [0, 1] intensities, "valid"
// windows only). 1 for identical videos. Differentiable.
torch::Tensor Ssim(const torch::Tensor& pred, const torch::Tensor& target);

// Mean |d pred - d target| over horizontal and vertical neighbour differences: keeps
// edges sharp where plain L1 tolerates blur.
torch::Tensor GradientL1(const torch::Tensor& pred, const torch::Tensor& target);

// KL(N(mean, exp(logvar)) || N(0, 1)), averaged over elements.
torch::Tensor GaussianKl(const torch::Tensor& mean, const torch::Tensor& logvar);

// PSNR in dB of [-1, 1] videos mapped to 8-bit ([0, 255]), over the whole batch (a
// training-time readout; the reported figure comes from vidserve-bench quality).
double PsnrDb(const torch::Tensor& pred, const torch::Tensor& target);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_VIDEO_LOSSES_H_

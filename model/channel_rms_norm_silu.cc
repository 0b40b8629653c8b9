#include "model/channel_rms_norm_silu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <optional>

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/channel_rms_norm_silu.h"
#endif

namespace vidserve {
namespace {

// Voxels per CPU task: their running sums of squares stay in a stack array, and each
// channel's row of them is contiguous in NCDHW, so the loops below vectorize.
constexpr int64_t kCpuVoxelBlock = 256;

bool ShapesMatch(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return x.defined() && weight.defined() && bias.defined() && x.dim() >= 2 &&
         weight.numel() == x.size(1) && bias.numel() == x.size(1) &&
         weight.device() == x.device() && bias.device() == x.device();
}

// x as [B, C, T, P] with each P-plane contiguous and any strides for B, C and T: a
// contiguous tensor (T = 1), or a dense 5-D [B, C, T, H, W] whose H x W frames are
// contiguous. The latter covers CausalConv3d's conv2d-over-frames output on the CPU,
// [B, T, C, H, W] memory seen as [B, C, T, H, W], which feeds most of the thin decoder's norms.
struct PlaneLayout {
  int64_t batch = 0, channels = 0, frames = 0, plane = 0;
  int64_t batch_stride = 0, channel_stride = 0, frame_stride = 0;
};

std::optional<PlaneLayout> CpuLayout(const torch::Tensor& x) {
  PlaneLayout l;
  l.batch = x.size(0);
  l.channels = x.size(1);
  if (x.is_contiguous()) {
    l.frames = 1;
    l.plane = l.batch * l.channels == 0 ? 0 : x.numel() / (l.batch * l.channels);
    l.channel_stride = l.plane;
    l.batch_stride = l.channels * l.plane;
    return l;
  }
  if (x.dim() != 5 || !x.is_non_overlapping_and_dense() || x.stride(4) != 1 ||
      x.stride(3) != x.size(4)) {
    return std::nullopt;
  }
  l.frames = x.size(2);
  l.plane = x.size(3) * x.size(4);
  l.batch_stride = x.stride(0);
  l.channel_stride = x.stride(1);
  l.frame_stride = x.stride(2);
  return l;
}

// The CPU path: per block of voxels of one frame, the sum of squares over channels, then
// each channel's normalised row; LibTorch's vectorized SiLU runs in place afterwards
// (std::exp in the loop would not vectorize). The output keeps x's strides.
torch::Tensor FusedCpu(const torch::Tensor& x, const torch::Tensor& weight,
                       const torch::Tensor& bias, double eps) {
  const PlaneLayout l = *CpuLayout(x);
  const auto w = weight.contiguous(), b = bias.contiguous();
  auto y = torch::empty_strided(x.sizes(), x.strides(), x.options());
  if (l.batch == 0 || l.channels == 0 || l.frames == 0 || l.plane == 0) return y;
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const float inv_channels = 1.0f / static_cast<float>(l.channels);
  const float eps_f = static_cast<float>(eps);
  const int64_t blocks_per_plane = (l.plane + kCpuVoxelBlock - 1) / kCpuVoxelBlock;
  const int64_t tasks = l.batch * l.frames * blocks_per_plane;
  // About 32k elements per task, so small tensors stay on one thread.
  const int64_t grain = std::max<int64_t>(1, 32768 / (kCpuVoxelBlock * l.channels));
  at::parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    float scale[kCpuVoxelBlock];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t plane_index = task / blocks_per_plane;  // b * frames + t
      const int64_t first = (task % blocks_per_plane) * kCpuVoxelBlock;
      const int64_t n = std::min(kCpuVoxelBlock, l.plane - first);
      const int64_t offset = (plane_index / l.frames) * l.batch_stride +
                             (plane_index % l.frames) * l.frame_stride + first;
      const float* xb = xp + offset;
      float* yb = yp + offset;
      std::fill(scale, scale + n, 0.0f);
      for (int64_t c = 0; c < l.channels; ++c) {
        const float* row = xb + c * l.channel_stride;
        for (int64_t i = 0; i < n; ++i) scale[i] += row[i] * row[i];
      }
      for (int64_t i = 0; i < n; ++i) scale[i] = 1.0f / std::sqrt(scale[i] * inv_channels + eps_f);
      for (int64_t c = 0; c < l.channels; ++c) {
        const float* row = xb + c * l.channel_stride;
        float* out = yb + c * l.channel_stride;
        const float gain = wp[c], shift = bp[c];
        for (int64_t i = 0; i < n; ++i) out[i] = row[i] * scale[i] * gain + shift;
      }
    }
  });
  return torch::silu_(y);
}

}  // namespace

bool FusedChannelRmsNormSiluSupported(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias) {
  if (!ShapesMatch(x, weight, bias)) return false;
  if (x.device().is_cpu()) {
    return x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
           bias.scalar_type() == torch::kFloat && CpuLayout(x).has_value();
  }
#ifdef VIDSERVE_HAVE_CUDA
  if (x.is_cuda()) return ChannelRmsNormSiluCudaSupported(x, weight, bias);
#endif
  return false;
}

torch::Tensor FusedChannelRmsNormSilu(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias, double eps) {
  TORCH_CHECK(FusedChannelRmsNormSiluSupported(x, weight, bias),
              "fused channel RMS norm + SiLU: unsupported inputs (need x [B, C, ...] contiguous, "
              "or on the CPU with contiguous frames, and weight, bias [C] on its device); got x ",
              x.sizes(), " ", x.scalar_type(), " on ", x.device(), ", weight ", weight.sizes());
#ifdef VIDSERVE_HAVE_CUDA
  if (x.is_cuda()) return ChannelRmsNormSiluCuda(x, weight, bias, eps);
#endif
  return FusedCpu(x, weight, bias, eps);
}

}  // namespace vidserve

#include "model/cuda/channel_rms_norm_silu.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <limits>

#include "model/cuda/channel_rms_norm_silu_kernels.h"
#include "model/cuda/kernel_dtype_torch.h"

namespace vidserve {
namespace {

// Channels-last 3D and not also contiguous (tensors with one channel or one voxel are both).
bool IsChannelsLast3d(const torch::Tensor& x) {
  return x.dim() == 5 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast3d);
}

}  // namespace

bool ChannelRmsNormSiluCudaSupported(const torch::Tensor& x, const torch::Tensor& weight,
                                     const torch::Tensor& bias) {
  if (!x.defined() || !weight.defined() || !bias.defined() || !x.is_cuda() || x.dim() < 2 ||
      !(x.is_contiguous() || IsChannelsLast3d(x)) || !IsKernelDtype(x.scalar_type()) ||
      x.numel() == 0) {
    return false;
  }
  if (weight.device() != x.device() || bias.device() != x.device() ||
      !torch::isFloatingType(weight.scalar_type()) || !torch::isFloatingType(bias.scalar_type()) ||
      weight.numel() != x.size(1) || bias.numel() != x.size(1)) {
    return false;
  }
  const int64_t voxels = x.numel() / x.size(1);
  return voxels <= std::numeric_limits<int32_t>::max() &&
         x.size(1) <= std::numeric_limits<int32_t>::max();
}

torch::Tensor ChannelRmsNormSiluCuda(const torch::Tensor& x, const torch::Tensor& weight,
                                     const torch::Tensor& bias, double eps) {
  TORCH_CHECK(ChannelRmsNormSiluCudaSupported(x, weight, bias),
              "channel RMS norm + SiLU (CUDA): unsupported inputs; got x ", x.sizes(), " ",
              x.scalar_type(), ", weight ", weight.sizes(), " ", weight.scalar_type());
  c10::cuda::CUDAGuard guard(x.device());
  // No-ops for the float32 weights of a float32 decoder; one tiny cast per call otherwise.
  const auto weight_f = weight.to(torch::kFloat).contiguous();
  const auto bias_f = bias.to(torch::kFloat).contiguous();
  // empty_like keeps x's layout, contiguous or channels-last.
  auto out = torch::empty_like(x);
  cuda_kernels::ChannelRmsNormSiluArgs args;
  args.dtype = ToKernelDtype(x.scalar_type());
  args.x = x.data_ptr();
  args.weight = weight_f.data_ptr<float>();
  args.bias = bias_f.data_ptr<float>();
  args.out = out.data_ptr();
  args.batch = x.size(0);
  args.channels = x.size(1);
  args.spatial = x.numel() / (x.size(0) * x.size(1));
  args.eps = static_cast<float>(eps);
  args.channels_last = IsChannelsLast3d(x);
  const cudaError_t err =
      cuda_kernels::LaunchChannelRmsNormSilu(args, c10::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err == cudaSuccess,
              "channel RMS norm + SiLU (CUDA): launch failed: ", cudaGetErrorString(err));
  return out;
}

}  // namespace vidserve

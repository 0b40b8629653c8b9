#include "model/cuda/skip_projection_add.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/kernel_dtype_torch.h"
#include "model/cuda/skip_projection_add_kernels.h"

namespace vidserve {

bool SkipProjectionAddCudaSupported(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, const torch::Tensor& residual) {
  if (!x.defined() || !weight.defined() || !residual.defined() || !x.is_cuda() || x.dim() < 2 ||
      !x.is_contiguous() || !IsKernelDtype(x.scalar_type()) || x.numel() == 0) {
    return false;
  }
  const int64_t cin = x.size(1);
  if (weight.device() != x.device() || !torch::isFloatingType(weight.scalar_type()) ||
      weight.dim() < 2 || weight.size(1) != cin || weight.numel() != weight.size(0) * cin ||
      cin > cuda_kernels::kSkipProjectionMaxInChannels || weight.size(0) < 1 ||
      weight.size(0) > cuda_kernels::kSkipProjectionMaxOutChannels) {
    return false;
  }
  const int64_t cout = weight.size(0);
  if (bias.defined() && (bias.device() != x.device() ||
                         !torch::isFloatingType(bias.scalar_type()) || bias.numel() != cout)) {
    return false;
  }
  auto expected = x.sizes().vec();
  expected[1] = cout;
  return residual.device() == x.device() && residual.scalar_type() == x.scalar_type() &&
         residual.is_contiguous() && residual.sizes().vec() == expected;
}

torch::Tensor SkipProjectionAddCuda(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, const torch::Tensor& residual) {
  TORCH_CHECK(SkipProjectionAddCudaSupported(x, weight, bias, residual),
              "skip projection + add (CUDA): unsupported inputs; got x ", x.sizes(), " ",
              x.scalar_type(), ", weight ", weight.sizes(), ", residual ", residual.sizes());
  c10::cuda::CUDAGuard guard(x.device());
  // No-ops for a float32 decoder's weights; one tiny cast per call otherwise.
  const auto weight_f = weight.to(torch::kFloat).contiguous();
  const auto bias_f = bias.defined() ? bias.to(torch::kFloat).contiguous() : torch::Tensor();
  auto out = torch::empty_like(residual);
  cuda_kernels::SkipProjectionAddArgs args;
  args.dtype = ToKernelDtype(x.scalar_type());
  args.x = x.data_ptr();
  args.weight = weight_f.data_ptr<float>();
  args.bias = bias_f.defined() ? bias_f.data_ptr<float>() : nullptr;
  args.residual = residual.data_ptr();
  args.out = out.data_ptr();
  args.batch = x.size(0);
  args.in_channels = x.size(1);
  args.out_channels = weight.size(0);
  args.spatial = x.numel() / (x.size(0) * x.size(1));
  const cudaError_t err =
      cuda_kernels::LaunchSkipProjectionAdd(args, c10::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err == cudaSuccess,
              "skip projection + add (CUDA): launch failed: ", cudaGetErrorString(err));
  return out;
}

}  // namespace vidserve

#include "model/cuda/narrow_conv3d.h"

#include <ATen/Context.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cstdint>
#include <limits>

#include "model/cuda/kernel_dtype_torch.h"
#include "model/cuda/narrow_conv3d_kernels.h"

namespace vidserve {
namespace {

// The kernels' sizes for x convolved into `cout` channels (with `upsampling`, those of the
// upsampled x: the output's); no pointers.
cuda_kernels::NarrowConv3dArgs KernelShape(const torch::Tensor& x, int64_t cout,
                                           NarrowConvUpsampling upsampling) {
  cuda_kernels::NarrowConv3dArgs shape;
  shape.batch = static_cast<int>(x.size(0));
  shape.in_channels = static_cast<int>(x.size(1));
  shape.out_channels = static_cast<int>(cout);
  shape.frames = static_cast<int>(upsampling.Frames(x.size(2)));
  shape.height = static_cast<int>(upsampling.Pixels(x.size(3)));
  shape.width = static_cast<int>(upsampling.Pixels(x.size(4)));
  shape.upsample_time = upsampling.time;
  shape.upsample_space = upsampling.space;
  return shape;
}

}  // namespace

bool NarrowCausalConv3dUsesTensorCores(const torch::Tensor& x, const torch::Tensor& weight) {
  if (!x.defined() || !weight.defined() || !x.is_cuda() || weight.dim() != 5) return false;
  // Float32 only (the kernel stages with 4-byte asynchronous copies), rounded to TF32 only
  // where LibTorch lets cuDNN round its convolutions too.
  if (x.scalar_type() != torch::kFloat || !at::globalContext().allowTF32CuDNN()) return false;
  // Where it measured faster on an H200 (BENCHMARKS.md section 3): 9-16 output channels
  // (two full 8-wide mma tiles; at 8 or fewer the CUDA-core kernel was as fast or faster).
  // Deep inputs (the thin decoder's 128 -> 16) split their channels over more blocks when
  // a layer has few tiles (narrow_conv3d_tf32.cu).
  if (weight.size(0) <= 8) return false;
  return at::cuda::getDeviceProperties(x.get_device())->major >= 8;
}

bool NarrowCausalConv3dSupported(const torch::Tensor& x, const torch::Tensor& past,
                                 const torch::Tensor& weight, NarrowConvUpsampling upsampling) {
  constexpr int64_t k = cuda_kernels::kNarrowConvKernel;
  if (!x.defined() || !weight.defined() || !x.is_cuda() || x.dim() != 5 || weight.dim() != 5) {
    return false;
  }
  if (!IsKernelDtype(x.scalar_type()) || weight.scalar_type() != x.scalar_type() ||
      weight.device() != x.device() || !x.is_contiguous()) {
    return false;
  }
  const int64_t cout = weight.size(0), cin = weight.size(1);
  if (cin != x.size(1) || weight.size(2) != k || weight.size(3) != k || weight.size(4) != k) {
    return false;
  }
  const int64_t cout_padded = cuda_kernels::NarrowConvPaddedOutChannels(static_cast<int>(cout));
  if (cout_padded == 0 || x.size(0) > 65535 || x.size(2) > 65535 || x.numel() == 0 ||
      cin > std::numeric_limits<int>::max() / (k * k * k)) {
    return false;
  }
  if (upsampling.Frames(x.size(2)) > 65535 || (upsampling.any() && past.defined())) return false;
  // The CUDA-core kernel keeps all weights in shared memory and 4 outputs per thread along W;
  // the tensor-core one walks input channels in chunks and masks partial tiles.
  if (!NarrowCausalConv3dUsesTensorCores(x, weight) &&
      (cin * cout_padded * k * k * k * 4 > cuda_kernels::kNarrowConvMaxSharedBytes ||
       upsampling.Pixels(x.size(4)) % cuda_kernels::kNarrowConvOutputsPerThread != 0)) {
    return false;
  }
  if (past.defined()) {
    if (past.device() != x.device() || past.scalar_type() != x.scalar_type() || past.dim() != 5 ||
        !past.is_contiguous() || past.size(0) != x.size(0) || past.size(1) != cin ||
        past.size(2) != k - 1 || past.size(3) != x.size(3) || past.size(4) != x.size(4)) {
      return false;
    }
  }
  return true;
}

bool NarrowCausalConv3dFoldsNorm(const torch::Tensor& x, const torch::Tensor& weight,
                                 const OutputNormSilu& norm, NarrowConvUpsampling upsampling) {
  if (!x.defined() || !weight.defined() || x.dim() != 5 || weight.dim() != 5 ||
      !norm.weight.defined() || !norm.bias.defined()) {
    return false;
  }
  const int64_t cout = weight.size(0);
  if (norm.weight.numel() != cout || norm.bias.numel() != cout ||
      norm.weight.device() != x.device() || norm.bias.device() != x.device() ||
      !torch::isFloatingType(norm.weight.scalar_type()) ||
      !torch::isFloatingType(norm.bias.scalar_type())) {
    return false;
  }
  if (!NarrowCausalConv3dUsesTensorCores(x, weight)) return true;
  return cuda_kernels::NarrowConvTf32Splits(KernelShape(x, cout, upsampling)) > 1;
}

torch::Tensor NarrowCausalConv3dCuda(const torch::Tensor& x, const torch::Tensor& past,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     NarrowConvUpsampling upsampling,
                                     const OutputNormSilu* norm) {
  TORCH_CHECK(norm == nullptr || NarrowCausalConv3dFoldsNorm(x, weight, *norm, upsampling),
              "narrow conv3d: the output norm needs the CUDA-core path or split tensor-core "
              "input channels, and [Cout] norm weights on x's device; got x ", x.sizes(),
              ", weight ", weight.sizes());
  TORCH_CHECK(NarrowCausalConv3dSupported(x, past, weight, upsampling),
              "narrow conv3d: unsupported inputs (need contiguous CUDA x [B, Cin, T, H, W], "
              "weight [Cout <= 16, Cin, 3, 3, 3] of x's dtype, past [B, Cin, 2, H, W] or none; "
              "without tensor cores also W % 4 == 0 and the weights in 48 KiB; no past when "
              "upsampling); got x ",
              x.sizes(), " ", x.scalar_type(), ", weight ", weight.sizes(), ", upsampling time ",
              upsampling.time, " space ", upsampling.space);
  const int64_t cout = weight.size(0);
  torch::Tensor bias_c;
  if (bias.defined()) {
    TORCH_CHECK(bias.numel() == cout, "narrow conv3d: bias has ", bias.numel(), " elements for ",
                cout, " output channels");
    bias_c = bias.to(x.scalar_type()).contiguous();
  }
  c10::cuda::CUDAGuard guard(x.device());
  const bool tensor_cores = NarrowCausalConv3dUsesTensorCores(x, weight);
  // The CUDA-core kernel loads 4 elements at a time: a view that does not start on such a
  // boundary (LibTorch's own allocations do) is copied first.
  auto aligned = [&](const torch::Tensor& t) {
    if (tensor_cores || !t.defined()) return t;
    const auto bytes = static_cast<uintptr_t>(4 * t.element_size());
    return reinterpret_cast<uintptr_t>(t.data_ptr()) % bytes == 0 ? t : t.clone();
  };
  const torch::Tensor x_a = aligned(x), past_a = aligned(past);
  const auto weight_c = weight.contiguous();
  cuda_kernels::NarrowConv3dArgs args = KernelShape(x, cout, upsampling);
  auto out = torch::empty({args.batch, cout, args.frames, args.height, args.width}, x.options());
  args.dtype = ToKernelDtype(x.scalar_type());
  args.x = x_a.data_ptr();
  args.past = past_a.defined() ? past_a.data_ptr() : nullptr;
  args.weight = weight_c.data_ptr();
  args.bias = bias_c.defined() ? bias_c.data_ptr() : nullptr;
  args.out = out.data_ptr();
  torch::Tensor norm_weight, norm_bias;  // float32 copies (no-ops for a float32 decoder)
  if (norm != nullptr) {
    norm_weight = norm->weight.to(torch::kFloat).contiguous();
    norm_bias = norm->bias.to(torch::kFloat).contiguous();
    args.norm_weight = norm_weight.data_ptr<float>();
    args.norm_bias = norm_bias.data_ptr<float>();
    args.norm_eps = static_cast<float>(norm->eps);
  }
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  torch::Tensor workspace;  // from LibTorch's caching allocator (graph-capturable)
  if (tensor_cores) {
    const int splits = cuda_kernels::NarrowConvTf32Splits(args);
    if (splits > 1) {
      workspace = torch::empty({splits, out.numel()}, out.options());
      args.workspace = workspace.data_ptr();
    }
  }
  const cudaError_t err = tensor_cores ? cuda_kernels::LaunchNarrowCausalConv3dTf32(args, stream)
                                       : cuda_kernels::LaunchNarrowCausalConv3d(args, stream);
  TORCH_CHECK(err == cudaSuccess, "narrow conv3d: CUDA launch failed: ", cudaGetErrorString(err));
  return out;
}

}  // namespace vidserve

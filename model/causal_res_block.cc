#include "model/causal_res_block.h"

#include "model/channel_rms_norm_silu.h"

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/skip_projection_add.h"
#endif

namespace vidserve {

ChannelRmsNormImpl::ChannelRmsNormImpl(int64_t channels_, double eps_)
    : channels(channels_), eps(eps_) {
  reset();
}

void ChannelRmsNormImpl::reset() {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelRmsNormImpl::forward(const torch::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = channels;
  // Statistics in fp32 even under bf16 autocast.
  const auto x32 = x.to(torch::kFloat32);
  const auto normed = x32 * torch::rsqrt(x32.pow(2).mean(1, /*keepdim=*/true) + eps);
  return (normed * weight.view(shape) + bias.view(shape)).to(x.scalar_type());
}

torch::Tensor ChannelRmsNormImpl::ForwardSilu(const torch::Tensor& x) {
  const bool needs_grad = torch::GradMode::is_enabled() &&
                          (x.requires_grad() || weight.requires_grad() || bias.requires_grad());
  if (fused && !needs_grad && FusedChannelRmsNormSiluSupported(x, weight, bias)) {
    return FusedChannelRmsNormSilu(x, weight, bias, eps);
  }
  return torch::silu(forward(x));
}

CausalResBlockImpl::CausalResBlockImpl(const CausalResBlockOptions& options_) : options(options_) {
  reset();
}

void CausalResBlockImpl::reset() {
  const int64_t cin = options.in_channels(), cout = options.out_channels();
  norm1 = register_module("norm1", ChannelRmsNorm(cin));
  conv1 = register_module("conv1", CausalConv3d(CausalConv3dOptions(cin, cout)));
  norm2 = register_module("norm2", ChannelRmsNorm(cout));
  conv2 = register_module("conv2", CausalConv3d(CausalConv3dOptions(cout, cout)));
  if (cin != cout) {
    skip = register_module("skip", torch::nn::Conv3d(torch::nn::Conv3dOptions(cin, cout, 1)));
  }
}

torch::Tensor CausalResBlockImpl::forward(const torch::Tensor& x, CausalConvCache* cache) {
  auto h = norm1->ForwardSilu(x);
  const OutputNormSilu then_norm2 = norm2->AsOutputNormSilu();
  // FoldsOutputNorm also requires no gradient (the direct kernel's condition).
  if (fold_norm && norm2->fused && conv1->FoldsOutputNorm(h, then_norm2, cache)) {
    h = conv1->ForwardWithOutputNorm(h, then_norm2, cache);
  } else {
    h = norm2->ForwardSilu(conv1->forward(h, cache));
  }
  h = conv2->forward(h, cache);
  if (!skip) return x + h;
#ifdef VIDSERVE_HAVE_CUDA
  // A projection into few channels (the thin decoder's) and both adds in one kernel: cuDNN
  // runs such a 1x1x1 convolution several times slower than its memory traffic allows.
  if (fused_skip && !torch::GradMode::is_enabled() &&
      SkipProjectionAddCudaSupported(x, skip->weight, skip->bias, h)) {
    return SkipProjectionAddCuda(x, skip->weight, skip->bias, h);
  }
#endif
  return skip->forward(x) + h;
}

}  // namespace vidserve

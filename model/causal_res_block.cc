#include "model/causal_res_block.h"

namespace vidserve {

int64_t GroupNormGroups(int64_t channels) {
  for (int64_t g = std::min<int64_t>(32, channels); g > 1; --g) {
    if (channels % g == 0) return g;
  }
  return 1;
}

torch::Tensor GroupNormPerFrame(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  auto frames = x.transpose(1, 2).reshape({b * t, c, h, w});
  return norm->forward(frames).view({b, t, c, h, w}).transpose(1, 2);
}

CausalResBlockImpl::CausalResBlockImpl(const CausalResBlockOptions& options_) : options(options_) {
  reset();
}

void CausalResBlockImpl::reset() {
  const int64_t cin = options.in_channels(), cout = options.out_channels();
  norm1 = register_module(
      "norm1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(GroupNormGroups(cin), cin)));
  conv1 = register_module("conv1", CausalConv3d(CausalConv3dOptions(cin, cout)));
  norm2 = register_module(
      "norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(GroupNormGroups(cout), cout)));
  conv2 = register_module("conv2", CausalConv3d(CausalConv3dOptions(cout, cout)));
  if (cin != cout) {
    skip = register_module("skip", torch::nn::Conv3d(torch::nn::Conv3dOptions(cin, cout, 1)));
  }
}

torch::Tensor CausalResBlockImpl::forward(const torch::Tensor& x, CausalConvCache* cache) {
  auto h = conv1->forward(torch::silu(GroupNormPerFrame(norm1, x)), cache);
  h = conv2->forward(torch::silu(GroupNormPerFrame(norm2, h)), cache);
  return (skip ? skip->forward(x) : x) + h;
}

}  // namespace vidserve

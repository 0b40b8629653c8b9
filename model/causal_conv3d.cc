#include "model/causal_conv3d.h"

namespace vidserve {

CausalConv3dImpl::CausalConv3dImpl(const CausalConv3dOptions& options_) : options(options_) {
  reset();
}

void CausalConv3dImpl::reset() {
  const int64_t ks = options.spatial_kernel();
  conv = register_module(
      "conv", torch::nn::Conv3d(
                  torch::nn::Conv3dOptions(options.in_channels(), options.out_channels(),
                                           {options.temporal_kernel(), ks, ks})
                      .stride({options.temporal_stride(), options.spatial_stride(),
                               options.spatial_stride()})
                      // Time is padded by hand (causally) in forward(); space symmetrically here.
                      .padding({0, ks / 2, ks / 2})));
}

torch::Tensor CausalConv3dImpl::forward(const torch::Tensor& x) {
  const int64_t front = options.temporal_kernel() - 1;
  if (front == 0) return conv->forward(x);
  // Replicating the first frame (rather than zeros) makes a still first frame look like a
  // static past, which is what an image looks like to a video model.
  auto first = x.narrow(2, 0, 1);
  auto padded = torch::cat({first.expand({-1, -1, front, -1, -1}), x}, 2);
  return conv->forward(padded);
}

}  // namespace vidserve

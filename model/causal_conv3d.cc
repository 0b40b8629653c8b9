#include "model/causal_conv3d.h"

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/narrow_conv3d.h"
#include "model/cuda/narrow_conv3d_kernels.h"
#endif

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

const torch::Tensor* CausalConv3dImpl::PastFrames(CausalConvCache* cache) const {
  if (options.temporal_kernel() <= 1 || cache == nullptr) return nullptr;
  auto it = cache->past_frames.find(this);
  return it != cache->past_frames.end() ? &it->second : nullptr;
}

torch::Tensor CausalConv3dImpl::forward(const torch::Tensor& x, CausalConvCache* cache) {
  const int64_t front = options.temporal_kernel() - 1;
  const torch::Tensor* past = PastFrames(cache);
#ifdef VIDSERVE_HAVE_CUDA
  // A strided input (the first chunk's time-upsampled view) costs one contiguous copy.
  const torch::Tensor xd = ContiguousForDirectKernel(x);
  if (UsesDirectKernel(xd, past)) return ForwardDirect(xd, past, cache, nullptr);
#endif
  auto padded = x;
  if (front > 0) {
    padded = CausallyPadded(x, past);
    if (cache != nullptr) KeepPastFrames(padded, cache);
  }
  // LibTorch's CPU dispatcher (aten/src/ATen/native/Convolution.cpp, use_mkldnn) sends a
  // batch-1 conv3d to oneDNN only when B*C*T*H > 20480; below that its unblocked fallback
  // is 2-8x slower (measured) than the same convolution done as a 2D oneDNN one over
  // folded frames. Narrow layers (the thin decoder's) live below that threshold.
  constexpr int64_t kMkldnnMinWork = 20480;
  if (lowering == Conv3dLowering::kConv2dOverFrames ||
      (x.is_cpu() &&
       padded.size(0) * padded.size(1) * padded.size(2) * padded.size(3) <= kMkldnnMinWork)) {
    return ForwardAsConv2d(padded);
  }
  return conv->forward(padded);
}

torch::Tensor CausalConv3dImpl::CausallyPadded(const torch::Tensor& x,
                                               const torch::Tensor* past) const {
  const int64_t front = options.temporal_kernel() - 1;
  if (front == 0) return x;
  // Replicating the first frame (rather than zeros) makes a still first frame look
  // like a static past, which is what an image looks like to a video model.
  const torch::Tensor before =
      past != nullptr ? *past : x.narrow(2, 0, 1).expand({-1, -1, front, -1, -1});
  if (x.dim() == 5 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast3d)) {
    // torch::cat would return NCDHW here (the expanded first frame has no channels-last
    // strides), and cuDNN would transpose it back: write the padded input channels-last.
    auto sizes = x.sizes().vec();
    sizes[2] += before.size(2);
    auto padded = torch::empty(sizes, x.options().memory_format(at::MemoryFormat::ChannelsLast3d));
    padded.narrow(2, 0, before.size(2)).copy_(before);
    padded.narrow(2, before.size(2), x.size(2)).copy_(x);
    return padded;
  }
  return torch::cat({before, x}, 2);
}

void CausalConv3dImpl::KeepPastFrames(const torch::Tensor& padded, CausalConvCache* cache) {
  // Frames from the next output's first tap on; a copy, so the cache does not pin this
  // chunk's whole input.
  const int64_t st = options.temporal_stride();
  const int64_t consumed = st * ((padded.size(2) - options.temporal_kernel()) / st + 1);
  cache->past_frames[this] = padded.narrow(2, consumed, padded.size(2) - consumed).clone();
}

bool CausalConv3dImpl::MayUseDirectKernel() const {
#ifdef VIDSERVE_HAVE_CUDA
  return lowering == Conv3dLowering::kAuto && options.temporal_stride() == 1 &&
         options.spatial_stride() == 1 && options.temporal_kernel() == 3 &&
         options.spatial_kernel() == 3 &&
         conv->weight.size(0) <= cuda_kernels::kNarrowConvMaxOutChannels;
#else
  return false;
#endif
}

bool CausalConv3dImpl::LayerFitsDirectKernel(const torch::Tensor& x) const {
  // Inference only: the kernel has no backward.
  return MayUseDirectKernel() && x.is_cuda() && !torch::GradMode::is_enabled();
}

torch::Tensor CausalConv3dImpl::ContiguousForDirectKernel(const torch::Tensor& x) const {
  return !x.is_contiguous() && LayerFitsDirectKernel(x) ? x.contiguous() : x;
}

bool CausalConv3dImpl::UsesDirectKernel(const torch::Tensor& x, const torch::Tensor* past) const {
#ifdef VIDSERVE_HAVE_CUDA
  return LayerFitsDirectKernel(x) &&
         NarrowCausalConv3dSupported(x, past != nullptr ? *past : torch::Tensor(), conv->weight);
#else
  (void)x;
  (void)past;
  return false;
#endif
}

#ifdef VIDSERVE_HAVE_CUDA
torch::Tensor CausalConv3dImpl::ForwardDirect(const torch::Tensor& x, const torch::Tensor* past,
                                              CausalConvCache* cache,
                                              const OutputNormSilu* norm) {
  auto y = NarrowCausalConv3dCuda(x, past != nullptr ? *past : torch::Tensor(), conv->weight,
                                  conv->bias, {}, norm);
  // At stride 1 the frames to keep are the input's last `front`, x's own when it has them.
  if (cache != nullptr) {
    const int64_t front = options.temporal_kernel() - 1;
    KeepPastFrames(x.size(2) >= front ? x : CausallyPadded(x, past), cache);
  }
  return y;
}
#else
torch::Tensor CausalConv3dImpl::ForwardDirect(const torch::Tensor& x, const torch::Tensor*,
                                              CausalConvCache*, const OutputNormSilu*) {
  return x;  // unreachable: UsesDirectKernel is false without CUDA
}
#endif

bool CausalConv3dImpl::FoldsUpsampling(const torch::Tensor& x, bool time, bool space,
                                       const OutputNormSilu* norm) const {
#ifdef VIDSERVE_HAVE_CUDA
  return (time || space) && x.is_contiguous() && LayerFitsDirectKernel(x) &&
         NarrowCausalConv3dSupported(x, torch::Tensor(), conv->weight,
                                     NarrowConvUpsampling{time, space}) &&
         (norm == nullptr ||
          NarrowCausalConv3dFoldsNorm(x, conv->weight, *norm, NarrowConvUpsampling{time, space}));
#else
  (void)x;
  (void)time;
  (void)space;
  (void)norm;
  return false;
#endif
}

torch::Tensor CausalConv3dImpl::ForwardFoldingUpsampling(const torch::Tensor& x, bool time,
                                                         bool space, const OutputNormSilu* norm) {
  TORCH_CHECK(FoldsUpsampling(x, time, space, norm),
              "CausalConv3d: cannot fold the upsampling into this layer's kernel for x ",
              x.sizes());
#ifdef VIDSERVE_HAVE_CUDA
  return NarrowCausalConv3dCuda(x, torch::Tensor(), conv->weight, conv->bias,
                                NarrowConvUpsampling{time, space}, norm);
#else
  return x;  // unreachable: FoldsUpsampling is false without CUDA
#endif
}

bool CausalConv3dImpl::FoldsOutputNorm(const torch::Tensor& x, const OutputNormSilu& norm,
                                       CausalConvCache* cache) const {
#ifdef VIDSERVE_HAVE_CUDA
  return x.is_contiguous() && UsesDirectKernel(x, PastFrames(cache)) &&
         NarrowCausalConv3dFoldsNorm(x, conv->weight, norm);
#else
  (void)x;
  (void)norm;
  (void)cache;
  return false;
#endif
}

torch::Tensor CausalConv3dImpl::ForwardWithOutputNorm(const torch::Tensor& x,
                                                      const OutputNormSilu& norm,
                                                      CausalConvCache* cache) {
  TORCH_CHECK(FoldsOutputNorm(x, norm, cache),
              "CausalConv3d: cannot apply the output norm in this layer's kernel for x ",
              x.sizes());
  return ForwardDirect(x, PastFrames(cache), cache, &norm);
}

torch::Tensor CausalConv3dImpl::ForwardAsConv2d(const torch::Tensor& padded) {
  const int64_t b = padded.size(0), c = padded.size(1);
  const int64_t kt = options.temporal_kernel(), st = options.temporal_stride();
  const int64_t t_out = (padded.size(2) - kt) / st + 1;
  // Output frame t reads padded frames t*st + k, k < kt: stack those taps on channels
  // (tap-major, matching the weight permutation below) and fold time into the batch.
  std::vector<torch::Tensor> taps;
  for (int64_t k = 0; k < kt; ++k) {
    taps.push_back(padded.slice(2, k, k + (t_out - 1) * st + 1, st));
  }
  auto stacked = torch::cat(taps, 1)  // [B, kt*C, T_out, H, W]
                     .transpose(1, 2)
                     .reshape({b * t_out, kt * c, padded.size(3), padded.size(4)});
  const auto& w = conv->weight;  // [C_out, C, kt, kh, kw]
  auto w2d = w.permute({0, 2, 1, 3, 4}).reshape({w.size(0), kt * c, w.size(3), w.size(4)});
  const int64_t ss = options.spatial_stride(), pad = options.spatial_kernel() / 2;
  auto y = torch::conv2d(stacked, w2d, conv->bias, {ss, ss}, {pad, pad});
  return y.view({b, t_out, y.size(1), y.size(2), y.size(3)}).transpose(1, 2);
}

}  // namespace vidserve

// The fused channel RMS norm + SiLU (model/channel_rms_norm_silu.h) against a float64
// composition of LibTorch ops: on the CPU always, on CUDA (float32, float16, bfloat16) when
// a device is present. Also what it refuses, and ChannelRmsNorm::ForwardSilu's choice of
// path (fused, LibTorch's ops when a gradient is needed or `fused` is off).
#include "model/channel_rms_norm_silu.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "model/causal_res_block.h"
#include "tests/unit/cuda_test_skip.h"

namespace vidserve {
namespace {

torch::Tensor ReferenceNormSilu(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, double eps) {
  const auto x64 = x.to(torch::kCPU, torch::kDouble);
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = x.size(1);
  const auto normed = x64 * torch::rsqrt(x64.pow(2).mean(1, /*keepdim=*/true) + eps);
  return torch::silu(normed * weight.to(torch::kCPU, torch::kDouble).view(shape) +
                     bias.to(torch::kCPU, torch::kDouble).view(shape));
}

double MaxAbsError(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual.to(torch::kCPU, torch::kDouble) - expected).abs().max().item<double>();
}

struct Shape {
  std::vector<int64_t> sizes;
};

// The VAE's norms (8 to 128 channels: every channel-group count of the CUDA kernel; batches,
// one frame) and odd sizes: voxel counts that are not a multiple of the CPU's 256-voxel
// block or of the GPU block's voxels, one channel, a 4-D tensor.
const std::vector<Shape>& Shapes() {
  static const std::vector<Shape> shapes = {{{2, 8, 17, 16, 16}}, {{1, 128, 5, 8, 8}},
                                            {{3, 16, 9, 7, 5}},   {{1, 1, 3, 4, 4}},
                                            {{2, 3, 1, 1, 1}},    {{4, 32, 33, 9}},
                                            {{2, 64, 3, 5, 7}}};
  return shapes;
}

TEST(ChannelRmsNormSilu, MatchesFloat64OpsOnTheCpu) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  for (const Shape& s : Shapes()) {
    const auto x = torch::randn(s.sizes) * 3.0;
    const auto weight = torch::randn({s.sizes[1]}), bias = torch::randn({s.sizes[1]});
    ASSERT_TRUE(FusedChannelRmsNormSiluSupported(x, weight, bias));
    const auto y = FusedChannelRmsNormSilu(x, weight, bias, 1e-6);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_EQ(y.scalar_type(), torch::kFloat);
    EXPECT_LT(MaxAbsError(y, ReferenceNormSilu(x, weight, bias, 1e-6)), 1e-5) << x.sizes();
  }
}

// CausalConv3d's conv2d-over-frames output on the CPU: [B, T, C, H, W] memory seen as
// [B, C, T, H, W]. The fused path takes it and keeps its strides.
TEST(ChannelRmsNormSilu, TakesFrameMajorLayoutOnTheCpu) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  for (const std::vector<int64_t>& btchw :
       std::vector<std::vector<int64_t>>{{2, 5, 8, 16, 16}, {1, 3, 16, 7, 9}, {3, 2, 4, 2, 2}}) {
    const auto x = (torch::randn(btchw) * 2.0).transpose(1, 2);
    ASSERT_FALSE(x.is_contiguous());
    const auto weight = torch::randn({x.size(1)}), bias = torch::randn({x.size(1)});
    ASSERT_TRUE(FusedChannelRmsNormSiluSupported(x, weight, bias));
    const auto y = FusedChannelRmsNormSilu(x, weight, bias, 1e-6);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_EQ(y.strides(), x.strides());
    EXPECT_LT(MaxAbsError(y, ReferenceNormSilu(x, weight, bias, 1e-6)), 1e-5) << x.sizes();
  }
}

TEST(ChannelRmsNormSilu, UsesEpsAndStaysFiniteOnZeros) {
  torch::NoGradGuard no_grad;
  // All-zero voxels: x / sqrt(eps) = 0, so the output is silu(bias).
  const auto x = torch::zeros({1, 4, 2, 3, 3});
  const auto weight = torch::ones({4}), bias = torch::tensor({-1.0f, 0.0f, 0.5f, 2.0f});
  const auto y = FusedChannelRmsNormSilu(x, weight, bias, 1e-6);
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_LT(MaxAbsError(y, ReferenceNormSilu(x, weight, bias, 1e-6)), 1e-6);
  // A large eps shrinks a small input's normalised value: the kernel must use it.
  const auto small = torch::full({1, 2, 1, 1, 1}, 0.1f);
  const auto y_eps = FusedChannelRmsNormSilu(small, torch::ones({2}), torch::zeros({2}), 1.0);
  EXPECT_LT(MaxAbsError(y_eps, ReferenceNormSilu(small, torch::ones({2}), torch::zeros({2}), 1.0)),
            1e-6);
}

TEST(ChannelRmsNormSilu, RefusesWhatItCannotTake) {
  const auto x = torch::randn({2, 8, 3, 4, 4});
  const auto weight = torch::randn({8}), bias = torch::randn({8});
  // Frames not contiguous (W strided), or channels interleaved with W.
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x.transpose(3, 4), weight, bias));
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(
      x.permute({0, 4, 2, 3, 1}).contiguous().permute({0, 4, 2, 3, 1}), weight, bias));
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x.narrow(4, 0, 2), weight, bias));  // a gap
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x.to(torch::kDouble), weight, bias));
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x, torch::randn({7}), bias));
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x, weight, torch::Tensor()));
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x.flatten(), weight, bias));
  EXPECT_THROW(FusedChannelRmsNormSilu(x.to(torch::kDouble), weight, bias, 1e-6), c10::Error);
}

TEST(ChannelRmsNormSilu, ForwardSiluTakesLibTorchsOpsWhenAGradientIsNeeded) {
  torch::manual_seed(2);
  ChannelRmsNorm norm(8);
  {
    torch::NoGradGuard no_grad;
    norm->weight.normal_();
    norm->bias.normal_();
  }
  const auto x = torch::randn({2, 8, 3, 4, 4});
  // With grad mode on and trainable weights, the output carries a gradient, and the
  // gradient reaches the weights.
  const auto y = norm->ForwardSilu(x);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  ASSERT_TRUE(norm->weight.grad().defined());
  EXPECT_GT(norm->weight.grad().abs().sum().item<double>(), 0.0);
  // Without grad: the fused result, equal to the LibTorch one up to rounding, and with
  // `fused` off exactly silu(forward(x)).
  torch::NoGradGuard no_grad;
  const auto reference = ReferenceNormSilu(x, norm->weight, norm->bias, norm->eps);
  EXPECT_LT(MaxAbsError(norm->ForwardSilu(x), reference), 1e-5);
  norm->fused = false;
  EXPECT_TRUE(torch::equal(norm->ForwardSilu(x), torch::silu(norm->forward(x))));
  // A strided input still works (LibTorch's ops), fused on or off.
  norm->fused = true;
  const auto strided = x.transpose(3, 4);
  EXPECT_LT(MaxAbsError(norm->ForwardSilu(strided),
                        ReferenceNormSilu(strided, norm->weight, norm->bias, norm->eps)),
            1e-5);
}

TEST(ChannelRmsNormSiluCuda, MatchesFloat64OpsInEveryKernelDtype) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  struct Case {
    torch::ScalarType dtype;
    double tolerance;  // max abs error; outputs are O(1..10)
  };
  for (const Case& c :
       {Case{torch::kFloat, 1e-5}, Case{torch::kHalf, 2e-2}, Case{torch::kBFloat16, 1e-1}}) {
    for (const Shape& s : Shapes()) {
      const auto x = (torch::randn(s.sizes) * 3.0).to(torch::kCUDA, c.dtype);
      // Weights as a decoder in this precision holds them.
      const auto weight = torch::randn({s.sizes[1]}).to(torch::kCUDA, c.dtype);
      const auto bias = torch::randn({s.sizes[1]}).to(torch::kCUDA, c.dtype);
      ASSERT_TRUE(FusedChannelRmsNormSiluSupported(x, weight, bias));
      const auto y = FusedChannelRmsNormSilu(x, weight, bias, 1e-6);
      EXPECT_EQ(y.scalar_type(), c.dtype);
      EXPECT_TRUE(y.is_cuda());
      EXPECT_LT(MaxAbsError(y, ReferenceNormSilu(x, weight, bias, 1e-6)), c.tolerance)
          << x.sizes() << " " << c.dtype;
    }
  }
  // Channels-last 5-D input (the decoders' latent level): the same values, channels-last out.
  for (const Shape& s : Shapes()) {
    if (s.sizes.size() != 5) continue;
    const auto x = (torch::randn(s.sizes) * 3.0).to(torch::kCUDA);
    const auto x_last = x.contiguous(at::MemoryFormat::ChannelsLast3d);
    const auto weight = torch::randn({s.sizes[1]}, torch::kCUDA);
    const auto bias = torch::randn({s.sizes[1]}, torch::kCUDA);
    ASSERT_TRUE(FusedChannelRmsNormSiluSupported(x_last, weight, bias));
    const auto y = FusedChannelRmsNormSilu(x_last, weight, bias, 1e-6);
    EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast3d)) << x.sizes();
    EXPECT_LT(MaxAbsError(y, ReferenceNormSilu(x, weight, bias, 1e-6)), 1e-5) << x.sizes();
  }
  // Not contiguous, or weights on another device: refused (the caller falls back).
  const auto x = torch::randn({2, 8, 3, 4, 4}, torch::kCUDA);
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x.transpose(3, 4), torch::ones({8}, torch::kCUDA),
                                                torch::zeros({8}, torch::kCUDA)));
  EXPECT_FALSE(FusedChannelRmsNormSiluSupported(x, torch::ones({8}), torch::zeros({8})));
#endif
}

}  // namespace
}  // namespace vidserve

// The fused skip projection + residual add (model/cuda/skip_projection_add.h) against a
// float64 composition of LibTorch ops, in every kernel dtype and at the channel counts it
// is routed for; what it refuses; and CausalResBlock's forward with and without it.
// Skips without a CUDA device; compiles on CPU-only builds.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "model/causal_res_block.h"
#include "tests/unit/cuda_test_skip.h"
#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/skip_projection_add.h"
#endif

namespace vidserve {
namespace {

torch::Tensor Reference(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias, const torch::Tensor& residual) {
  const auto x64 = x.to(torch::kCPU, torch::kDouble);
  const auto w64 = weight.to(torch::kCPU, torch::kDouble);
  const auto b64 = bias.defined() ? bias.to(torch::kCPU, torch::kDouble) : torch::Tensor();
  return torch::conv3d(x64, w64, b64) + residual.to(torch::kCPU, torch::kDouble);
}

TEST(SkipProjectionAddCuda, MatchesFloat64OpsInEveryKernelDtype) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  struct Case {
    torch::ScalarType dtype;
    double tolerance;  // max abs error; outputs are O(1..30)
  };
  struct Shape {
    int64_t batch, in_channels, out_channels, frames, height, width;
  };
  // The thin decoder's two skips (128 -> 16 at 17x64x64 x 8, 16 -> 8), an output count of
  // each register tile (4, 8, 16) and between, the largest input count, odd voxel counts;
  // every input split: 1 group (many voxels), 4, 8 and 32 groups (few voxels).
  const std::vector<Shape> shapes = {{8, 128, 16, 5, 16, 16}, {2, 128, 16, 3, 8, 8},
                                     {3, 16, 8, 5, 7, 9},     {1, 512, 3, 2, 5, 5},
                                     {2, 1, 1, 1, 1, 1},      {1, 24, 13, 4, 3, 11},
                                     {1, 8, 4, 17, 64, 64},   {2, 16, 8, 9, 32, 33}};
  for (const Case& c :
       {Case{torch::kFloat, 1e-4}, Case{torch::kHalf, 5e-2}, Case{torch::kBFloat16, 4e-1}}) {
    for (const Shape& s : shapes) {
      for (bool with_bias : {true, false}) {
        const auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(c.dtype);
        const auto x = torch::randn({s.batch, s.in_channels, s.frames, s.height, s.width}, opts);
        const auto weight =
            (torch::randn({s.out_channels, s.in_channels, 1, 1, 1}) / std::sqrt(s.in_channels))
                .to(opts);
        const auto bias = with_bias ? torch::randn({s.out_channels}, opts) : torch::Tensor();
        const auto residual =
            torch::randn({s.batch, s.out_channels, s.frames, s.height, s.width}, opts);
        ASSERT_TRUE(SkipProjectionAddCudaSupported(x, weight, bias, residual));
        const auto y = SkipProjectionAddCuda(x, weight, bias, residual);
        EXPECT_EQ(y.scalar_type(), c.dtype);
        EXPECT_EQ(y.sizes(), residual.sizes());
        const double err = (y.to(torch::kCPU, torch::kDouble) - Reference(x, weight, bias, residual))
                               .abs()
                               .max()
                               .item<double>();
        EXPECT_LT(err, c.tolerance) << c.dtype << " " << x.sizes() << " -> " << s.out_channels
                                    << (with_bias ? " with bias" : "");
      }
    }
  }
#endif
}

TEST(SkipProjectionAddCuda, RefusesWhatItCannotTake) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  const auto x = torch::randn({2, 16, 3, 4, 4}, cuda);
  const auto w = torch::randn({8, 16, 1, 1, 1}, cuda);
  const auto b = torch::randn({8}, cuda);
  const auto r = torch::randn({2, 8, 3, 4, 4}, cuda);
  EXPECT_TRUE(SkipProjectionAddCudaSupported(x, w, b, r));
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x.transpose(3, 4), w, b, r));       // strided x
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, w, b, r.transpose(3, 4)));       // strided residual
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x.cpu(), w, b, r));                 // CPU x
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, w.cpu(), b, r));                 // weight elsewhere
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x.to(torch::kDouble), w, b, r));    // dtype
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, w, b, r.to(torch::kHalf)));      // mixed dtypes
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, w, torch::randn({7}, cuda), r));  // bias size
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, w, b, torch::randn({2, 8, 3, 4, 5}, cuda)));
  // Too many outputs (17) or inputs (513) for the kernel's tiles.
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, torch::randn({17, 16, 1, 1, 1}, cuda),
                                              torch::Tensor(), torch::randn({2, 17, 3, 4, 4}, cuda)));
  EXPECT_FALSE(SkipProjectionAddCudaSupported(torch::randn({1, 513, 1, 2, 2}, cuda),
                                              torch::randn({8, 513, 1, 1, 1}, cuda), b,
                                              torch::randn({1, 8, 1, 2, 2}, cuda)));
  // A 3x3x3 kernel is not a projection.
  EXPECT_FALSE(SkipProjectionAddCudaSupported(x, torch::randn({8, 16, 3, 3, 3}, cuda), b, r));
#endif
}

// A block whose width changes (16 -> 8, as the thin decoder's pixel stage) gives the same
// output through the fused kernel as through LibTorch's 1x1x1 convolution and add (exact
// float32 products there: TF32 off for the comparison).
TEST(SkipProjectionAddCuda, ResBlockOutputIsTheSameWithAndWithoutIt) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  const bool tf32 = at::globalContext().allowTF32CuDNN();
  at::globalContext().setAllowTF32CuDNN(false);
  CausalResBlock block(CausalResBlockOptions(16, 8));
  block->to(torch::kCUDA);
  const auto x = torch::randn({2, 16, 5, 8, 12}, torch::kCUDA);
  block->fused_skip = false;
  const auto expected = block->forward(x);
  block->fused_skip = true;
  const auto fused = block->forward(x);
  at::globalContext().setAllowTF32CuDNN(tf32);
  EXPECT_LT((fused - expected).abs().max().item<double>(), 1e-4);
#endif
}

}  // namespace
}  // namespace vidserve

// CausalResBlock on CUDA without a gradient runs its skip projection and residual add as
// one GEMM (model/causal_res_block.h); it must equal the block's float64 output on the
// CPU, with the skip as Conv3d. Skips without a CUDA device.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/causal_res_block.h"

namespace vidserve {
namespace {

double RelativeError(const torch::Tensor& actual, const torch::Tensor& expected) {
  auto a = actual.to(torch::kCPU, torch::kDouble), e = expected.to(torch::kCPU, torch::kDouble);
  return (a - e).norm().item<double>() / e.norm().item<double>();
}

TEST(CausalResBlockCuda, SkipGemmMatchesFloat64Block) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::NoGradGuard no_grad;
  for (auto [cin, cout] : {std::pair<int64_t, int64_t>{16, 8}, {128, 16}, {8, 8}}) {
    torch::manual_seed(static_cast<int>(cin + cout));
    CausalResBlock block(CausalResBlockOptions(cin, cout));
    // Non-trivial norm and skip parameters, so each part shows in the output.
    for (auto& p : block->parameters()) p.add_(torch::randn_like(p) * 0.1);
    auto x = torch::randn({2, cin, 5, 8, 12});
    CausalResBlock on_cuda(std::dynamic_pointer_cast<CausalResBlockImpl>(block->clone()));
    on_cuda->to(torch::kCUDA);
    CausalResBlock expected(std::dynamic_pointer_cast<CausalResBlockImpl>(block->clone()));
    expected->to(torch::kDouble);
    const auto want = expected->forward(x.to(torch::kDouble));
    const auto got = on_cuda->forward(x.to(torch::kCUDA));
    ASSERT_EQ(got.sizes(), want.sizes());
    // TF32 convolutions inside the block (cuDNN's and vidserve's) round to ~1e-3.
    EXPECT_LE(RelativeError(got, want), 5e-3) << cin << "->" << cout;
    // A channels-last input takes Conv3d's path; the same values.
    const auto channels_last =
        on_cuda->forward(x.to(torch::kCUDA).contiguous(at::MemoryFormat::ChannelsLast3d));
    EXPECT_LE(RelativeError(channels_last, want), 5e-3) << cin << "->" << cout;
  }
}

}  // namespace
}  // namespace vidserve

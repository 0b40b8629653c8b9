// The direct CUDA kernel for narrow causal convolutions (model/cuda/narrow_conv3d.h) against
// a float64 conv3d on the CPU, alone and inside CausalConv3d (one-shot and chunked with the
// cache). Skips without a CUDA device; compiles on CPU-only builds (the kernel exists only
// with VIDSERVE_HAVE_CUDA).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "model/causal_conv3d.h"
#include "model/vae.h"
#include "tests/unit/cuda_test_skip.h"
#ifdef VIDSERVE_HAVE_CUDA
#include "model/causal_res_block.h"
#include "model/cuda/channel_rms_norm_silu.h"
#include "model/cuda/narrow_conv3d.h"
#include "model/cuda/narrow_conv3d_kernels.h"
#endif

namespace vidserve {
namespace {

#ifdef VIDSERVE_HAVE_CUDA
// conv3d of x with its two past frames (given, or x's first frame twice) in float64 on the CPU.
torch::Tensor ReferenceCausalConv(const torch::Tensor& x, const torch::Tensor& past,
                                  const torch::Tensor& weight, const torch::Tensor& bias) {
  auto x64 = x.to(torch::kCPU, torch::kDouble);
  auto front = past.defined() ? past.to(torch::kCPU, torch::kDouble)
                              : x64.narrow(2, 0, 1).expand({-1, -1, 2, -1, -1});
  auto padded = torch::cat({front, x64}, 2);
  return torch::conv3d(padded, weight.to(torch::kCPU, torch::kDouble),
                       bias.defined() ? bias.to(torch::kCPU, torch::kDouble) : torch::Tensor(),
                       /*stride=*/1, /*padding=*/torch::IntArrayRef({0, 1, 1}));
}

double RelativeError(const torch::Tensor& actual, const torch::Tensor& expected) {
  auto a = actual.to(torch::kCPU, torch::kDouble), e = expected.to(torch::kCPU, torch::kDouble);
  return (a - e).norm().item<double>() / e.norm().item<double>();
}

struct Shape {
  int64_t batch, cin, cout, frames, height, width;
};

// Sets LibTorch's cuDNN TF32 flag, which picks the kernel's path for float32, for a scope.
class ScopedAllowTf32 {
 public:
  explicit ScopedAllowTf32(bool allow) : saved_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuDNN(allow);
  }
  ~ScopedAllowTf32() { at::globalContext().setAllowTF32CuDNN(saved_); }

 private:
  bool saved_;
};

// Relative error allowed against float64: float32 products are exact to ~1e-7, TF32 ones
// carry each operand's 2^-11 rounding.
double Tolerance(const torch::Tensor& x, const torch::Tensor& weight) {
  return NarrowCausalConv3dUsesTensorCores(x, weight) ? 2e-3 : 1e-5;
}
#endif

// Both paths for float32: CUDA cores (TF32 off) and, on sm_80+, tensor cores (TF32 on).
TEST(NarrowConv3dCuda, MatchesFloat64ConvolutionForEveryPaddedWidthAndPast) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  int seed = 0;
  for (bool allow_tf32 : {false, true}) {
    ScopedAllowTf32 tf32(allow_tf32);
    // A 16-wide layer: where tensor cores are used at all.
    const bool tensor_cores = NarrowCausalConv3dUsesTensorCores(
        torch::zeros({1, 16, 1, 4, 4}, cuda), torch::zeros({16, 16, 3, 3, 3}, cuda));
    if (allow_tf32 && !tensor_cores) std::printf("no tensor-core path on this GPU (< sm_80)\n");
    if (allow_tf32 && !tensor_cores) break;
    EXPECT_EQ(tensor_cores, allow_tf32);
    // The decoders' narrow layers (8 and 16 wide, RGB and 2x2-patch outputs) and odd sizes:
    // one frame, one channel, W not a multiple of the 128-thread block, H != W, and rows of
    // fewer groups than a warp's lanes (the halo shuffles cross rows there).
    std::vector<Shape> shapes = {{2, 8, 8, 17, 64, 64},  {2, 8, 3, 17, 64, 64},
                                 {3, 16, 16, 9, 16, 16}, {1, 16, 8, 17, 32, 32},
                                 {2, 32, 3, 5, 8, 12},   {1, 4, 12, 3, 8, 8},
                                 {1, 1, 1, 1, 4, 4},     {1, 24, 16, 2, 20, 36},
                                 // Input channels that the slices of a small frame split
                                 // unevenly (3 over 2, 5 over 4).
                                 {2, 3, 8, 3, 8, 8},     {1, 5, 4, 2, 4, 8}};
    if (tensor_cores) {
      // Only the tensor-core path: weights beyond the CUDA-core kernel's shared memory (in
      // chunks of 8 channels), Cin not a multiple of 8, W not a multiple of 4 or 16, H not a
      // multiple of a block's rows, and few blocks (fewer rows per warp).
      // Deep inputs on few tiles split their channels over blocks: the thin decoder's
      // 128 -> 16 layer, and splits whose last group is partial (100 = 12 chunks + 4).
      shapes.insert(shapes.end(), {{2, 64, 16, 5, 16, 16},
                                   {1, 13, 9, 3, 10, 18},
                                   {1, 64, 16, 2, 7, 33},
                                   {8, 48, 12, 1, 16, 16},
                                   {8, 128, 16, 5, 16, 16},
                                   {4, 100, 12, 2, 8, 8}});
    }
    for (const Shape& s : shapes) {
      for (bool with_past : {false, true}) {
        torch::manual_seed(++seed);
        auto x = torch::randn({s.batch, s.cin, s.frames, s.height, s.width}, cuda);
        auto past = with_past ? torch::randn({s.batch, s.cin, 2, s.height, s.width}, cuda)
                              : torch::Tensor();
        auto weight = torch::randn({s.cout, s.cin, 3, 3, 3}, cuda) * 0.1;
        auto bias = torch::randn({s.cout}, cuda);
        ASSERT_TRUE(NarrowCausalConv3dSupported(x, past, weight))
            << s.cin << "->" << s.cout << " " << x.sizes();
        auto out = NarrowCausalConv3dCuda(x, past, weight, bias);
        auto expected = ReferenceCausalConv(x, past, weight, bias);
        ASSERT_EQ(out.sizes(), expected.sizes());
        EXPECT_EQ(out.scalar_type(), torch::kFloat);
        const double err = RelativeError(out, expected);
        EXPECT_LE(err, Tolerance(x, weight)) << s.cin << "->" << s.cout << " " << x.sizes()
                                             << " past " << with_past << " tf32 " << allow_tf32;
        // Without a bias the output is the bare convolution.
        auto unbiased = NarrowCausalConv3dCuda(x, past, weight, torch::Tensor());
        EXPECT_LE(RelativeError(unbiased, ReferenceCausalConv(x, past, weight, torch::Tensor())),
                  Tolerance(x, weight));
      }
    }
  }
#endif
}

// The CUDA-core kernel loads 4 columns at a time; a contiguous view that starts one element
// into its storage (not 16-byte aligned) must give the same result as an aligned copy.
TEST(NarrowConv3dCuda, TakesInputsThatStartOffAVectorBoundary) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  ScopedAllowTf32 no_tf32(false);
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  for (auto dtype : {torch::kFloat, torch::kHalf}) {
    torch::manual_seed(4);
    const std::vector<int64_t> shape = {2, 8, 5, 12, 16}, past_shape = {2, 8, 2, 12, 16};
    const int64_t n = 2 * 8 * 5 * 12 * 16, past_n = 2 * 8 * 2 * 12 * 16;
    auto x = torch::randn({n + 1}, cuda).to(dtype).narrow(0, 1, n).view(shape);
    auto past = torch::randn({past_n + 1}, cuda).to(dtype).narrow(0, 1, past_n).view(past_shape);
    ASSERT_TRUE(x.is_contiguous());
    ASSERT_NE(reinterpret_cast<uintptr_t>(x.data_ptr()) % 8, 0u);
    auto weight = (torch::randn({8, 8, 3, 3, 3}, cuda) * 0.1).to(dtype);
    auto bias = torch::randn({8}, cuda).to(dtype);
    ASSERT_TRUE(NarrowCausalConv3dSupported(x, past, weight));
    auto out = NarrowCausalConv3dCuda(x, past, weight, bias);
    auto aligned = NarrowCausalConv3dCuda(x.clone(), past.clone(), weight, bias);
    EXPECT_TRUE(torch::equal(out, aligned)) << dtype;
  }
#endif
}

TEST(NarrowConv3dCuda, HalfPrecisionRoundsOnceFromFloat32Accumulation) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  for (auto dtype : {torch::kHalf, torch::kBFloat16}) {
    torch::manual_seed(3);
    auto x = torch::randn({2, 8, 9, 32, 32}, cuda).to(dtype);
    auto weight = (torch::randn({8, 8, 3, 3, 3}, cuda) * 0.1).to(dtype);
    auto bias = torch::randn({8}, cuda).to(dtype);
    auto out = NarrowCausalConv3dCuda(x, torch::Tensor(), weight, bias);
    ASSERT_EQ(out.scalar_type(), dtype);
    // Exact math on the rounded inputs; the output's own rounding is ~2^-9 (bf16) or 2^-12.
    const double err = RelativeError(out, ReferenceCausalConv(x, torch::Tensor(), weight, bias));
    EXPECT_LE(err, dtype == torch::kBFloat16 ? 6e-3 : 8e-4);
    std::printf("%s relative error vs float64: %.2e\n", dtype == torch::kBFloat16 ? "bf16" : "fp16",
                err);
  }
#endif
}

TEST(NarrowConv3dCuda, RejectsWhatTheKernelCannotTake) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  auto x = torch::randn({1, 8, 4, 16, 16}, cuda);
  auto w = torch::randn({8, 8, 3, 3, 3}, cuda);
  auto odd_width = torch::randn({1, 8, 4, 16, 18}, cuda);
  auto w16 = torch::randn({16, 8, 3, 3, 3}, cuda);
  auto wide_in = torch::randn({1, 64, 4, 16, 16}, cuda);
  auto wide_in_w = torch::randn({16, 64, 3, 3, 3}, cuda);
  {
    // Tensor cores (sm_80+) take 16-wide layers of any W and any input depth, not 8-wide
    // ones (the CUDA-core kernel's).
    ScopedAllowTf32 tf32(true);
    const bool tensor_cores = NarrowCausalConv3dUsesTensorCores(x, w16);
    EXPECT_FALSE(NarrowCausalConv3dUsesTensorCores(x, w));
    EXPECT_EQ(NarrowCausalConv3dUsesTensorCores(torch::randn({1, 128, 4, 16, 16}, cuda),
                                                torch::randn({16, 128, 3, 3, 3}, cuda)),
              tensor_cores);
    EXPECT_EQ(NarrowCausalConv3dSupported(odd_width, torch::Tensor(), w16), tensor_cores);
    EXPECT_FALSE(NarrowCausalConv3dSupported(odd_width, torch::Tensor(), w));
    EXPECT_EQ(NarrowCausalConv3dSupported(wide_in, torch::Tensor(), wide_in_w), tensor_cores);
  }
  // The CUDA-core kernel's limits, for float32 without TF32.
  ScopedAllowTf32 no_tf32(false);
  EXPECT_FALSE(NarrowCausalConv3dUsesTensorCores(x, w16));
  EXPECT_FALSE(NarrowCausalConv3dSupported(odd_width, torch::Tensor(), w16));
  EXPECT_TRUE(NarrowCausalConv3dSupported(x, torch::Tensor(), w));
  EXPECT_FALSE(NarrowCausalConv3dSupported(x.cpu(), torch::Tensor(), w.cpu()));
  EXPECT_FALSE(NarrowCausalConv3dSupported(odd_width, torch::Tensor(), w));  // W % 4 != 0
  EXPECT_FALSE(NarrowCausalConv3dSupported(x, torch::Tensor(),
                                           torch::randn({17, 8, 3, 3, 3}, cuda)));  // Cout > 16
  EXPECT_FALSE(NarrowCausalConv3dSupported(wide_in, torch::Tensor(), wide_in_w));   // > 48 KiB
  EXPECT_FALSE(NarrowCausalConv3dSupported(x, torch::Tensor(),
                                           torch::randn({8, 8, 1, 3, 3}, cuda)));  // kernel 1x3x3
  EXPECT_FALSE(NarrowCausalConv3dSupported(x.contiguous(at::MemoryFormat::ChannelsLast3d),
                                           torch::Tensor(), w));
  EXPECT_FALSE(NarrowCausalConv3dSupported(x, torch::randn({1, 8, 1, 16, 16}, cuda), w));
  EXPECT_FALSE(
      NarrowCausalConv3dSupported(x.to(torch::kDouble), torch::Tensor(), w.to(torch::kDouble)));
  EXPECT_THROW(NarrowCausalConv3dCuda(x, torch::Tensor(), torch::randn({17, 8, 3, 3, 3}, cuda),
                                      torch::Tensor()),
               c10::Error);
#endif
}

// The tensor-core path splits input channels only where a layer has few tiles and at least
// four chunks of 8 channels: the thin decoder's 128 -> 16 layer at 16x16 x 5 frames x 8
// clips, not its 16 -> 16 layers nor a layer with blocks for every SM.
TEST(NarrowConv3dCuda, SplitsInputChannelsOnlyForDeepInputsOnFewTiles) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  auto args = [](int batch, int cin, int frames, int height, int width) {
    cuda_kernels::NarrowConv3dArgs a;
    a.batch = batch;
    a.in_channels = cin;
    a.out_channels = 16;
    a.frames = frames;
    a.height = height;
    a.width = width;
    return a;
  };
  EXPECT_GT(cuda_kernels::NarrowConvTf32Splits(args(8, 128, 5, 16, 16)), 1);
  EXPECT_LE(cuda_kernels::NarrowConvTf32Splits(args(8, 128, 5, 16, 16)), 128 / 8 / 2);
  EXPECT_EQ(cuda_kernels::NarrowConvTf32Splits(args(8, 16, 5, 16, 16)), 1);
  EXPECT_EQ(cuda_kernels::NarrowConvTf32Splits(args(8, 128, 65, 256, 256)), 1);
#endif
}

// CausalConv3d routes narrow layers to the kernel without a gradient; its output, one-shot
// and chunk by chunk through the cache (chunks shorter than the two past frames included),
// must equal the float64 convolution of the whole clip, and LibTorch's path must agree.
TEST(NarrowConv3dCuda, CausalConv3dOneShotAndChunkedMatchTheWholeClip) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  for (int64_t cout : {3, 8, 32}) {  // 32: too wide, LibTorch's path
    torch::manual_seed(static_cast<int>(cout));
    CausalConv3d conv(CausalConv3dOptions(8, cout));
    conv->to(torch::kCUDA);
    auto x = torch::randn({2, 8, 11, 24, 32}, torch::TensorOptions().device(torch::kCUDA));
    const auto expected =
        ReferenceCausalConv(x, torch::Tensor(), conv->conv->weight, conv->conv->bias);
    // cuDNN may use TF32; the kernel does where NarrowCausalConv3dUsesTensorCores says.
    const double tolerance = cout == 32 ? 5e-3 : Tolerance(x, conv->conv->weight);
    EXPECT_LE(RelativeError(conv->forward(x), expected), tolerance) << "cout " << cout;
    for (const std::vector<int64_t>& chunks :
         std::vector<std::vector<int64_t>>{{4, 7}, {1, 1, 3, 6}, {5, 1, 5}}) {
      CausalConvCache cache;
      std::vector<torch::Tensor> outs;
      int64_t start = 0;
      for (int64_t length : chunks) {
        // Narrowed views are strided: the kernel takes a contiguous copy of each.
        outs.push_back(conv->forward(x.narrow(2, start, length), &cache));
        start += length;
      }
      EXPECT_LE(RelativeError(torch::cat(outs, 2), expected), tolerance)
          << "cout " << cout << ", chunks of " << chunks[0] << ", " << chunks[1] << "...";
    }
    // A strided input (the decoder's first-chunk time upsampling is a narrowed view) goes to
    // the kernel, as a contiguous one does.
    const auto strided = x.transpose(3, 4).contiguous().transpose(3, 4);
    ASSERT_FALSE(strided.is_contiguous());
    EXPECT_EQ(conv->UsesDirectKernel(strided.contiguous(), nullptr), cout <= 16);
    EXPECT_LE(RelativeError(conv->forward(strided), expected), tolerance) << "cout " << cout;
    conv->lowering = Conv3dLowering::kLibTorchOnly;
    EXPECT_FALSE(conv->UsesDirectKernel(x, nullptr));
    EXPECT_LE(RelativeError(conv->forward(x), expected), 5e-3) << "cout " << cout;
  }
#endif
}

// The kernels can read their input through the decoder's 2x nearest-neighbour upsampling
// (causal in time, and/or in space) instead of a copy of it. They read the same values in
// the same order, so the result must equal, bit for bit, the kernel on the upsampled copy:
// each path (tensor cores for 16 outputs, CUDA cores for 8 and 3, half precision), each
// upsampling, deep inputs (split over blocks) and shallow ones, frames that need the
// causal padding. CausalConv3d's folding entry point gives the same, and refuses a past.
TEST(NarrowConv3dCuda, FoldedUpsamplingEqualsConvolvingTheUpsampledCopy) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  struct Case {
    int64_t cin, cout;
    torch::Dtype dtype;
  };
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  for (const Case& c : {Case{16, 16, torch::kFloat}, Case{128, 16, torch::kFloat},
                        Case{16, 8, torch::kFloat}, Case{8, 3, torch::kFloat},
                        Case{16, 8, torch::kHalf}}) {
    torch::manual_seed(static_cast<int>(c.cin * 31 + c.cout));
    const auto x = torch::randn({2, c.cin, 3, 6, 12}, cuda.dtype(c.dtype));
    const auto weight = (torch::randn({c.cout, c.cin, 3, 3, 3}, cuda) * 0.2).to(c.dtype);
    const auto bias = torch::randn({c.cout}, cuda).to(c.dtype);
    for (const NarrowConvUpsampling up : {NarrowConvUpsampling{true, false},
                                          NarrowConvUpsampling{false, true},
                                          NarrowConvUpsampling{true, true}}) {
      auto copy = x;
      if (up.time) copy = CausalTemporalUpsample(copy);
      if (up.space) {
        copy = copy.repeat_interleave(2, 3).repeat_interleave(2, 4);
      }
      copy = copy.contiguous();
      const std::string what = "cin " + std::to_string(c.cin) + " cout " +
                               std::to_string(c.cout) + (c.dtype == torch::kHalf ? " half" : "") +
                               " time " + std::to_string(up.time) + " space " +
                               std::to_string(up.space);
      ASSERT_TRUE(NarrowCausalConv3dSupported(copy, torch::Tensor(), weight)) << what;
      ASSERT_TRUE(NarrowCausalConv3dSupported(x, torch::Tensor(), weight, up)) << what;
      const auto expected = NarrowCausalConv3dCuda(copy, torch::Tensor(), weight, bias);
      const auto folded = NarrowCausalConv3dCuda(x, torch::Tensor(), weight, bias, up);
      ASSERT_EQ(folded.sizes(), expected.sizes()) << what;
      EXPECT_TRUE(torch::equal(folded, expected)) << what;
      // A past cannot be read through an upsampling: refused.
      const auto past = torch::zeros({2, c.cin, 2, 6, 12}, cuda.dtype(c.dtype));
      EXPECT_FALSE(NarrowCausalConv3dSupported(x, past, weight, up)) << what;
    }
  }
  // Through CausalConv3d: the layer's own forward on the upsampled copy.
  CausalConv3d conv(CausalConv3dOptions(8, 8));
  conv->to(torch::kCUDA);
  const auto x = torch::randn({1, 8, 5, 8, 12}, cuda);
  ASSERT_TRUE(conv->FoldsUpsampling(x, true, true));
  const auto copy = CausalTemporalUpsample(x).repeat_interleave(2, 3).repeat_interleave(2, 4);
  EXPECT_TRUE(torch::equal(conv->ForwardFoldingUpsampling(x, true, true), conv->forward(copy)));
  EXPECT_FALSE(conv->FoldsUpsampling(x, false, false));  // nothing to fold
  EXPECT_FALSE(conv->FoldsUpsampling(x.transpose(3, 4), true, true));  // strided
  conv->lowering = Conv3dLowering::kLibTorchOnly;
  EXPECT_FALSE(conv->FoldsUpsampling(x, true, true));
#endif
}

// The CUDA-core kernel can pass its output through the RMS norm + SiLU that reads it
// (OutputNormSilu): the same values as the norm kernel on the written output, up to
// float rounding, for every padded width, with a past, through an upsampling, in half
// precision; the tensor-core path does it in its split-sum kernel and refuses it unsplit. In a res block (conv1, then norm2) and
// chunk by chunk through the cache, the block's output is unchanged.
TEST(NarrowConv3dCuda, OutputNormMatchesTheNormKernelOnTheWrittenOutput) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  struct Case {
    int64_t cin, cout;
    torch::Dtype dtype;
    bool with_past;
    NarrowConvUpsampling up;
  };
  ScopedAllowTf32 cuda_cores(false);  // 16 outputs take the CUDA-core path too
  for (const Case& c : {Case{16, 8, torch::kFloat, false, {}}, Case{16, 8, torch::kFloat, true, {}},
                        Case{8, 3, torch::kFloat, false, {}}, Case{8, 16, torch::kFloat, false, {}},
                        Case{8, 8, torch::kFloat, false, {true, true}},
                        Case{16, 8, torch::kHalf, true, {}}}) {
    torch::manual_seed(static_cast<int>(c.cin * 7 + c.cout));
    const auto x = torch::randn({2, c.cin, 5, 8, 12}, cuda.dtype(c.dtype));
    const auto past = c.with_past ? torch::randn({2, c.cin, 2, 8, 12}, cuda.dtype(c.dtype))
                                  : torch::Tensor();
    const auto weight = (torch::randn({c.cout, c.cin, 3, 3, 3}, cuda) * 0.2).to(c.dtype);
    const auto bias = torch::randn({c.cout}, cuda).to(c.dtype);
    const OutputNormSilu norm{torch::rand({c.cout}, cuda) + 0.5, torch::randn({c.cout}, cuda),
                                  1e-6};
    ASSERT_TRUE(NarrowCausalConv3dFoldsNorm(x, weight, norm));
    const auto conv = NarrowCausalConv3dCuda(x, past, weight, bias, c.up);
    const auto expected = ChannelRmsNormSiluCuda(conv, norm.weight, norm.bias, norm.eps);
    const auto folded = NarrowCausalConv3dCuda(x, past, weight, bias, c.up, &norm);
    ASSERT_EQ(folded.sizes(), expected.sizes());
    const double atol = c.dtype == torch::kHalf ? 2e-3 : 2e-6;
    EXPECT_TRUE(torch::allclose(folded.to(torch::kFloat), expected.to(torch::kFloat), 1e-5, atol))
        << "cin " << c.cin << " cout " << c.cout << " half " << (c.dtype == torch::kHalf)
        << " past " << c.with_past << " upsampled " << c.up.any() << ": largest difference "
        << (folded.to(torch::kFloat) - expected.to(torch::kFloat)).abs().max().item<float>();
  }
  {
    // Tensor cores: the split-sum kernel of a deep input on few tiles applies the norm (the
    // thin decoder's 128 -> 16 at 16 x 16); unsplit, the norm is refused.
    ScopedAllowTf32 tensor_cores(true);
    const auto deep = torch::randn({1, 128, 5, 16, 16}, cuda);
    const auto w_deep = torch::randn({16, 128, 3, 3, 3}, cuda) * 0.05;
    const auto b_deep = torch::randn({16}, cuda);
    const OutputNormSilu deep_norm{torch::rand({16}, cuda) + 0.5, torch::randn({16}, cuda),
                                       1e-6};
    if (NarrowCausalConv3dUsesTensorCores(deep, w_deep)) {
      cuda_kernels::NarrowConv3dArgs shape;
      shape.batch = 1, shape.in_channels = 128, shape.out_channels = 16;
      shape.frames = 5, shape.height = 16, shape.width = 16;
      ASSERT_GT(cuda_kernels::NarrowConvTf32Splits(shape), 1);
      ASSERT_TRUE(NarrowCausalConv3dFoldsNorm(deep, w_deep, deep_norm));
      const auto expected = ChannelRmsNormSiluCuda(
          NarrowCausalConv3dCuda(deep, torch::Tensor(), w_deep, b_deep), deep_norm.weight,
          deep_norm.bias, deep_norm.eps);
      const auto folded = NarrowCausalConv3dCuda(deep, torch::Tensor(), w_deep, b_deep, {},
                                                 &deep_norm);
      EXPECT_TRUE(torch::allclose(folded, expected, 1e-5, 2e-6))
          << "split tensor cores: largest difference "
          << (folded - expected).abs().max().item<float>();
    }
    const auto x = torch::randn({1, 16, 3, 8, 8}, cuda);
    const auto w16 = torch::randn({16, 16, 3, 3, 3}, cuda);
    const OutputNormSilu norm{torch::ones({16}, cuda), torch::zeros({16}, cuda), 1e-6};
    EXPECT_EQ(NarrowCausalConv3dFoldsNorm(x, w16, norm), !NarrowCausalConv3dUsesTensorCores(x, w16));
    const OutputNormSilu wrong{torch::ones({8}, cuda), torch::zeros({8}, cuda), 1e-6};
    EXPECT_FALSE(NarrowCausalConv3dFoldsNorm(x, torch::randn({8, 16, 3, 3, 3}, cuda), norm));
    EXPECT_FALSE(NarrowCausalConv3dFoldsNorm(x, w16, wrong));
  }
  // A res block (16 -> 8: conv1 8 wide) with and without the fold, whole and in chunks.
  torch::manual_seed(9);
  CausalResBlock block(CausalResBlockOptions(16, 8));
  block->to(torch::kCUDA);
  const auto x = torch::randn({2, 16, 7, 8, 12}, cuda);
  const auto plain = block->forward(x);
  block->fold_norm = true;
  const OutputNormSilu then_norm2 = block->norm2->AsOutputNormSilu();
  ASSERT_TRUE(block->conv1->FoldsOutputNorm(block->norm1->ForwardSilu(x), then_norm2, nullptr));
  EXPECT_TRUE(torch::allclose(block->forward(x), plain, 1e-5, 1e-5));
  CausalConvCache cache;
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < 7; start += 3) {
    chunks.push_back(block->forward(x.narrow(2, start, std::min<int64_t>(3, 7 - start)).contiguous(),
                                    &cache));
  }
  EXPECT_TRUE(torch::allclose(torch::cat(chunks, 2), plain, 1e-4, 1e-5));
#endif
}

}  // namespace
}  // namespace vidserve

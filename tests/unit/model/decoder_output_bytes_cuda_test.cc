// The decoder's fused output kernel (model/cuda/decoder_output_bytes.h) against LibTorch's
// ops: the same bytes, exactly, for every decode dtype, first and later chunks, a partial
// shortcut, a frame offset and a thin decoder's output patch (the depth-to-space read in
// place); and VaeDecoder::DecodeToBytes on CUDA against the rounded chunked decode. Skips
// without a CUDA device; compiles on CPU-only builds.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "model/vae.h"
#include "tests/unit/cuda_test_skip.h"
#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/decoder_output_bytes.h"
#endif

namespace vidserve {
namespace {

// The thumbnail repeated over its 8 x 8 pixels and 4 frames, the first frame once in a
// first chunk: written with repeat_interleave, independently of the decoder's code.
torch::Tensor RepeatedThumbnail(const torch::Tensor& thumbnail, bool first_chunk) {
  auto repeated =
      thumbnail.repeat_interleave(8, 3).repeat_interleave(8, 4).repeat_interleave(4, 2);
  return first_chunk ? repeated.narrow(2, 3, repeated.size(2) - 3) : repeated;
}

#ifdef VIDSERVE_HAVE_CUDA
// Runs the kernel on `input` (the decoder's output; patches of `patch` x `patch` pixels)
// into frames 2.. of a clip of bytes filled with 7s, and expects there the bytes LibTorch's
// ops give for `pixels` (the same output, depth-to-space done) plus the thumbnail, and 7s
// in the frames around. Returns the clip of bytes.
torch::Tensor ExpectKernelBytes(const torch::Tensor& input, const torch::Tensor& pixels,
                                const torch::Tensor& thumbnail, bool first_chunk, int64_t patch,
                                const ::testing::Message& what) {
  const int64_t frames = pixels.size(2);
  auto sum = pixels.clone();
  if (thumbnail.defined()) {
    sum.narrow(1, 0, thumbnail.size(1)).add_(RepeatedThumbnail(thumbnail, first_chunk));
  }
  const auto expected = PixelsToBytes(sum);
  auto bytes = torch::full({pixels.size(0), frames + 3, pixels.size(3), pixels.size(4), 3}, 7,
                           pixels.options().dtype(torch::kUInt8));
  EXPECT_TRUE(DecoderOutputBytesCudaSupported(input, thumbnail, first_chunk, bytes, 2, patch))
      << what;
  DecoderOutputBytesCuda(input, thumbnail, first_chunk, bytes, 2, patch);
  EXPECT_TRUE(torch::equal(bytes.narrow(1, 2, frames), expected)) << what;
  EXPECT_TRUE(bytes.narrow(1, 0, 2).eq(7).all().item<bool>()) << what;
  EXPECT_TRUE(bytes.narrow(1, 2 + frames, 1).eq(7).all().item<bool>()) << what;
  return bytes;
}
#endif

TEST(DecoderOutputBytesCuda, MatchesLibTorchOpsExactly) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  int seed = 0;
  for (auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16}) {
    for (bool first_chunk : {true, false}) {
      for (int64_t shortcut : {3, 2, 0}) {
        torch::manual_seed(++seed);
        const int64_t latent_frames = 3, h = 5, w = 7;  // W not a multiple of a warp
        const int64_t frames = first_chunk ? 1 + 4 * (latent_frames - 1) : 4 * latent_frames;
        auto pixels = (torch::randn({2, 3, frames, 8 * h, 8 * w}, cuda) * 0.8).to(dtype);
        // A narrowed view of the latents, as a chunk is: strided along time.
        auto latents = (torch::randn({2, 8, latent_frames + 2, h, w}, cuda) * 0.8).to(dtype);
        auto thumbnail = latents.narrow(2, 1, latent_frames).narrow(1, 0, shortcut);
        const torch::Tensor thumb = shortcut > 0 ? thumbnail : torch::Tensor();
        const auto bytes = ExpectKernelBytes(pixels, pixels, thumb, first_chunk, 1,
                                             ::testing::Message() << dtype << " first chunk "
                                                                  << first_chunk << " shortcut "
                                                                  << shortcut);
        // Mismatched shapes are refused, not run.
        EXPECT_FALSE(DecoderOutputBytesCudaSupported(pixels, thumb, first_chunk, bytes, 4));
        if (shortcut > 0) {
          EXPECT_FALSE(DecoderOutputBytesCudaSupported(pixels, thumb, !first_chunk, bytes, 0));
        }
      }
    }
  }
#endif
}

// [B, 3 p^2, T, h, w] -> [B, 3, T, p h, p w], channel c p^2 + i p + j becoming pixel (i, j)
// of each p x p block of colour c: pixel_shuffle over frames folded into the batch,
// independently of the decoder's reshapes.
torch::Tensor PixelShuffled(const torch::Tensor& patches, int64_t patch) {
  return torch::pixel_shuffle(patches.transpose(1, 2), patch).transpose(1, 2);
}

TEST(DecoderOutputBytesCuda, ReadsPatchesAsTheirDepthToSpaceExactly) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  int seed = 100;
  for (int64_t patch : {2, 4}) {
    for (auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16}) {
      for (bool first_chunk : {true, false}) {
        for (int64_t shortcut : {3, 0}) {
          torch::manual_seed(++seed);
          // 40 x 56 pixels: at patch 4, rows of 14 patches, not a multiple of a warp.
          const int64_t latent_frames = 3, h = 5, w = 7;
          const int64_t frames = first_chunk ? 1 + 4 * (latent_frames - 1) : 4 * latent_frames;
          const std::vector<int64_t> patches_shape = {2, 3 * patch * patch, frames,
                                                      8 * h / patch, 8 * w / patch};
          auto patches = (torch::randn(patches_shape, cuda) * 0.8).to(dtype);
          auto latents = (torch::randn({2, 8, latent_frames + 2, h, w}, cuda) * 0.8).to(dtype);
          auto thumbnail = latents.narrow(2, 1, latent_frames).narrow(1, 0, shortcut);
          const torch::Tensor thumb = shortcut > 0 ? thumbnail : torch::Tensor();
          const auto bytes = ExpectKernelBytes(
              patches, PixelShuffled(patches, patch), thumb, first_chunk, patch,
              ::testing::Message() << "patch " << patch << " " << dtype << " first chunk "
                                   << first_chunk << " shortcut " << shortcut);
          // A patch that does not fit the channels (3 p^2) or the bytes (p times the
          // patches' H and W) is refused, not run.
          for (int64_t wrong_patch : {int64_t{1}, patch == 2 ? int64_t{4} : int64_t{2},
                                      int64_t{3}}) {
            EXPECT_FALSE(DecoderOutputBytesCudaSupported(patches, thumb, first_chunk, bytes, 2,
                                                         wrong_patch))
                << "patch " << patch << " as " << wrong_patch;
          }
          EXPECT_FALSE(DecoderOutputBytesCudaSupported(PixelShuffled(patches, patch).contiguous(),
                                                       thumb, first_chunk, bytes, 2, patch));
          EXPECT_FALSE(DecoderOutputBytesCudaSupported(
              patches.narrow(3, 0, patches.size(3) - 1).contiguous(), thumb, first_chunk, bytes,
              2, patch));
        }
      }
    }
  }
#endif
}

#ifdef VIDSERVE_HAVE_CUDA
// A small decoder on the GPU with output patch `patch` (seeded by it), and latents for it:
// 4 latent frames of 3 x 4, two clips.
VaeDecoder SmallDecoderOnCuda(int64_t patch, torch::Dtype dtype) {
  torch::manual_seed(static_cast<int>(patch));
  VaeDecoder decoder(
      VaeDecoderOptions().latent_channels(8).channels({16, 32, 64}).output_patch(patch));
  decoder->to(torch::kCUDA, dtype);
  return decoder;
}

torch::Tensor LatentsOnCuda(torch::Dtype dtype) {
  return (torch::randn({2, 8, 4, 3, 4}, torch::TensorOptions().device(torch::kCUDA)) * 2)
      .to(dtype);
}
#endif

TEST(DecoderOutputBytesCuda, DecodeToBytesEqualsTheRoundedChunkedDecode) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  // Patches 2 and 4 take the kernel's in-place depth-to-space.
  for (int64_t patch : {1, 2, 4}) {
    for (auto dtype : {torch::kFloat, torch::kHalf}) {
      VaeDecoder decoder = SmallDecoderOnCuda(patch, dtype);
      const auto z = LatentsOnCuda(dtype);
      for (int64_t chunk : {0, 1, 3}) {
        const auto bytes = decoder->DecodeToBytes(z, chunk);
        ASSERT_EQ(bytes.sizes(), (std::vector<int64_t>{2, 13, 24, 32, 3}));
        EXPECT_TRUE(torch::equal(bytes, PixelsToBytes(decoder->DecodeInChunks(z, chunk))))
            << "patch " << patch << " " << dtype << " chunk " << chunk;
      }
    }
  }
#endif
}

// The output convolution's output not NCDHW-contiguous (channels-last weights, as
// decode_channels_last sets, or the conv2d-over-frames lowering's transposed view):
// DecodeToBytes still gives the rounded chunked decode's bytes.
TEST(DecoderOutputBytesCuda, DecodeToBytesTakesAStridedConvolutionOutput) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  for (int64_t patch : {1, 2, 4}) {
    for (auto lowering : {Conv3dLowering::kLibTorchOnly, Conv3dLowering::kConv2dOverFrames}) {
      VaeDecoder decoder = SmallDecoderOnCuda(patch, torch::kHalf);
      for (torch::Tensor& p : decoder->parameters()) {
        if (p.dim() == 5) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast3d));
      }
      for (const auto& module : decoder->modules(/*include_self=*/false)) {
        if (auto* conv = module->as<CausalConv3dImpl>()) conv->lowering = lowering;
      }
      const auto z = LatentsOnCuda(torch::kHalf);
      for (int64_t chunk : {0, 1, 3}) {
        EXPECT_TRUE(torch::equal(decoder->DecodeToBytes(z, chunk),
                                 PixelsToBytes(decoder->DecodeInChunks(z, chunk))))
            << "patch " << patch << " lowering " << static_cast<int>(lowering) << " chunk "
            << chunk;
      }
    }
  }
#endif
}

}  // namespace
}  // namespace vidserve

// The decoder's fused output kernel (model/cuda/decoder_output_bytes.h) against LibTorch's
// ops: the same bytes, exactly, for every decode dtype, first and later chunks, a partial
// shortcut and a frame offset; and VaeDecoder::DecodeToBytes on CUDA against the rounded
// chunked decode. Skips without a CUDA device; compiles on CPU-only builds.
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
        auto sum = pixels.clone();
        if (shortcut > 0) {
          sum.narrow(1, 0, shortcut).add_(RepeatedThumbnail(thumbnail, first_chunk));
        }
        const auto expected = PixelsToBytes(sum);
        // Frames 2.. of a longer clip; the others keep their 7s.
        auto bytes = torch::full({2, frames + 3, 8 * h, 8 * w, 3}, 7,
                                 cuda.dtype(torch::kUInt8));
        const torch::Tensor thumb = shortcut > 0 ? thumbnail : torch::Tensor();
        ASSERT_TRUE(DecoderOutputBytesCudaSupported(pixels, thumb, first_chunk, bytes, 2));
        DecoderOutputBytesCuda(pixels, thumb, first_chunk, bytes, 2);
        EXPECT_TRUE(torch::equal(bytes.narrow(1, 2, frames), expected))
            << dtype << " first chunk " << first_chunk << " shortcut " << shortcut;
        EXPECT_TRUE(bytes.narrow(1, 0, 2).eq(7).all().item<bool>());
        EXPECT_TRUE(bytes.narrow(1, 2 + frames, 1).eq(7).all().item<bool>());
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

TEST(DecoderOutputBytesCuda, DecodeToBytesEqualsTheRoundedChunkedDecode) {
  SKIP_WITHOUT_CUDA();
#ifdef VIDSERVE_HAVE_CUDA
  torch::NoGradGuard no_grad;
  for (int64_t patch : {1, 2}) {
    for (auto dtype : {torch::kFloat, torch::kHalf}) {
      torch::manual_seed(static_cast<int>(patch));
      VaeDecoder decoder(
          VaeDecoderOptions().latent_channels(8).channels({16, 32, 64}).output_patch(patch));
      decoder->to(torch::kCUDA, dtype);
      auto z = (torch::randn({2, 8, 4, 3, 4}, torch::TensorOptions().device(torch::kCUDA)) * 2)
                   .to(dtype);
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

}  // namespace
}  // namespace vidserve

#include "model/vae.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "model/causal_conv3d.h"
#include "model/causal_res_block.h"
#include "model/video_network.h"

namespace vidserve {
namespace {

const bool kTwoThreads = [] {
  at::set_num_threads(2);
  return true;
}();

VaeEncoder TinyEncoder() {
  torch::manual_seed(0);
  VaeEncoder encoder(VaeEncoderOptions().latent_channels(8).channels({32, 64, 128}));
  encoder->eval();
  return encoder;
}

TEST(CausalConv3d, StrideTwoKeepsTheFirstFrameAlone) {
  CausalConv3d conv(CausalConv3dOptions(3, 4).temporal_stride(2).spatial_stride(2));
  torch::NoGradGuard no_grad;
  for (int64_t t : {1, 3, 5, 9, 17}) {
    auto y = conv->forward(torch::randn({1, 3, t, 8, 8}));
    EXPECT_EQ(y.size(2), 1 + (t - 1) / 2) << "T=" << t;
    EXPECT_EQ(y.size(3), 4);
  }
}

TEST(CausalConv3d, EqualsConv3dOverTheFrontPaddedInput) {
  torch::NoGradGuard no_grad;
  // Small and large inputs take different CPU code paths, and kConv2dOverFrames forces the
  // 2D one for every size; each must be this convolution.
  for (Conv3dLowering lowering : {Conv3dLowering::kAuto, Conv3dLowering::kConv2dOverFrames})
    for (int64_t size : {8, 128})
      for (int64_t stride : {1, 2}) {
        CausalConv3d conv(
            CausalConv3dOptions(3, 5).temporal_stride(stride).spatial_stride(stride));
        conv->lowering = lowering;
        auto x = torch::randn({2, 3, 5, size, size});
        auto padded = torch::cat({x.narrow(2, 0, 1), x.narrow(2, 0, 1), x}, 2);
        auto expected = conv->conv->forward(padded);
        EXPECT_TRUE(torch::allclose(conv->forward(x), expected, 1e-4, 1e-5))
            << "size " << size << " stride " << stride << " lowering "
            << static_cast<int>(lowering);
      }
}

// The decoders' latent level runs channels-last on CUDA (VideoModel); the causal padding
// keeps that layout and the convolution stays the same, whole or chunked.
TEST(CausalConv3d, ChannelsLastInputGivesTheSameOutputWholeAndChunked) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  CausalConv3d conv(CausalConv3dOptions(6, 5));
  const auto x = torch::randn({2, 6, 7, 4, 5});
  const auto x_last = x.contiguous(at::MemoryFormat::ChannelsLast3d);
  ASSERT_FALSE(x_last.is_contiguous());
  const auto expected = conv->forward(x);
  EXPECT_TRUE(torch::allclose(conv->forward(x_last), expected, 1e-4, 1e-5));
  CausalConvCache cache;
  auto first = conv->forward(x_last.narrow(2, 0, 3).contiguous(at::MemoryFormat::ChannelsLast3d),
                             &cache);
  auto rest = conv->forward(x_last.narrow(2, 3, 4).contiguous(at::MemoryFormat::ChannelsLast3d),
                            &cache);
  EXPECT_TRUE(torch::allclose(torch::cat({first, rest}, 2), expected, 1e-4, 1e-5));
}

TEST(CausalConv3d, OutputFrameIgnoresLaterInputFrames) {
  CausalConv3d conv(CausalConv3dOptions(2, 2));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 2, 6, 5, 5});
  auto changed = x.clone();
  changed.narrow(2, 4, 1).add_(1.0);
  auto y = conv->forward(x), y2 = conv->forward(changed);
  EXPECT_TRUE(torch::equal(y.narrow(2, 0, 4), y2.narrow(2, 0, 4)));
  EXPECT_FALSE(torch::equal(y.narrow(2, 4, 1), y2.narrow(2, 4, 1)));
}

TEST(Vae, EncoderShapeFor17x64x64) {
  auto encoder = TinyEncoder();
  torch::NoGradGuard no_grad;
  auto moments = encoder->forward(torch::rand({1, 3, 17, 64, 64}) * 2 - 1);
  EXPECT_EQ(moments.sizes(), (std::vector<int64_t>{1, 16, 5, 8, 8}));
  auto mean = encoder->EncodeMean(torch::zeros({2, 3, 17, 64, 64}));
  EXPECT_EQ(mean.sizes(), (std::vector<int64_t>{2, 8, 5, 8, 8}));
}

TEST(Vae, EncoderShapeForOneFrame16x16) {
  auto encoder = TinyEncoder();
  torch::NoGradGuard no_grad;
  auto mean = encoder->EncodeMean(torch::zeros({1, 3, 1, 16, 16}));
  EXPECT_EQ(mean.sizes(), (std::vector<int64_t>{1, 8, 1, 2, 2}));
}

TEST(Vae, EncoderIsCausalInTime) {
  auto encoder = TinyEncoder();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 13, 16, 16}) * 2 - 1;  // 4 latent frames
  auto base = encoder->EncodeMean(x);
  for (int64_t k : {1, 5, 9, 12}) {
    auto changed = x.clone();
    changed.narrow(2, k, 1).uniform_(-1, 1);
    auto latents = encoder->EncodeMean(changed);
    for (int64_t j = 0; j < base.size(2); ++j) {
      const bool same = torch::equal(base.narrow(2, j, 1), latents.narrow(2, j, 1));
      if (4 * j < k) {
        EXPECT_TRUE(same) << "latent " << j << " changed when frame " << k << " did";
      } else if (j == (k + 3) / 4) {
        EXPECT_FALSE(same) << "latent " << j << " should see frame " << k;
      }
    }
  }
}

TEST(Vae, DecoderIsCausalInTime) {
  torch::manual_seed(1);
  VaeDecoder decoder(VaeDecoderOptions().latent_channels(8).channels({32, 64, 128}));
  torch::NoGradGuard no_grad;
  auto z = torch::randn({1, 8, 4, 2, 2});
  auto base = decoder->forward(z);
  EXPECT_EQ(base.sizes(), (std::vector<int64_t>{1, 3, 13, 16, 16}));
  auto changed = z.clone();
  changed.narrow(2, 2, 1).add_(1.0);  // latent 2 covers frames 5..8
  auto frames = decoder->forward(changed);
  EXPECT_TRUE(torch::equal(base.narrow(2, 0, 5), frames.narrow(2, 0, 5)));
  EXPECT_FALSE(torch::equal(base.narrow(2, 5, 1), frames.narrow(2, 5, 1)));
}

TEST(Vae, ChunkedEncodeEqualsOneShotEncode) {
  auto encoder = TinyEncoder();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 21, 16, 16}) * 2 - 1;  // 6 latent frames
  auto whole = encoder->forward(x);
  for (int64_t chunk : {1, 2, 4, 5}) {
    auto chunked = encoder->ForwardInChunks(x, chunk);
    ASSERT_EQ(chunked.sizes(), whole.sizes()) << "chunk " << chunk;
    EXPECT_TRUE(torch::allclose(chunked, whole, 1e-4, 1e-5)) << "chunk " << chunk;
  }
}

TEST(Vae, LatentLevelConvsAreTheOnesBeforeTheFirstUpsampling) {
  VaeDecoder decoder(
      VaeDecoderOptions().latent_channels(8).channels({32, 64, 128}).blocks_per_stage(2));
  const auto convs = decoder->LatentLevelConvs();
  // conv_in, the mid block's two, and two per block of the deepest stage.
  ASSERT_EQ(convs.size(), 3u + 2u * 2u);
  EXPECT_EQ(convs[0]->options.in_channels(), 8);
  for (const auto& conv : convs) EXPECT_EQ(conv->options.out_channels(), 128);
  // The deepest stage's upsampling convolution (the next in forward order) is not one.
  for (const auto& conv : convs) {
    EXPECT_NE(conv.get(), decoder->named_modules()["stage2_up"]->as<CausalConv3dImpl>());
  }
}

TEST(Vae, ChunkedDecodeEqualsOneShotDecode) {
  torch::manual_seed(2);
  VaeDecoder decoder(VaeDecoderOptions().latent_channels(8).channels({32, 64, 128}));
  torch::NoGradGuard no_grad;
  auto z = torch::randn({2, 8, 6, 2, 3});
  auto whole = decoder->forward(z);
  for (int64_t chunk : {1, 2, 4, 6}) {
    auto chunked = decoder->DecodeInChunks(z, chunk);
    ASSERT_EQ(chunked.sizes(), whole.sizes()) << "chunk " << chunk;
    EXPECT_TRUE(torch::allclose(chunked, whole, 1e-4, 1e-5)) << "chunk " << chunk;
  }
}

// DecodeToBytes is PixelsToBytes of the same chunked decode, byte for byte, whether the
// shortcut covers all three pixel channels (8 latent channels) or two (2 latent channels).
TEST(Vae, DecodeToBytesEqualsTheRoundedDecode) {
  torch::NoGradGuard no_grad;
  for (int64_t latent_channels : {8, 2}) {
    torch::manual_seed(5);
    VaeDecoder decoder(
        VaeDecoderOptions().latent_channels(latent_channels).channels({32, 64, 128}));
    auto z = torch::randn({2, latent_channels, 4, 2, 3}) * 2;  // beyond [-1, 1]: clamped
    for (int64_t chunk : {0, 1, 3, 4}) {
      const auto bytes = decoder->DecodeToBytes(z, chunk);
      const auto expected = PixelsToBytes(decoder->DecodeInChunks(z, chunk));
      ASSERT_EQ(bytes.sizes(), (std::vector<int64_t>{2, 13, 16, 24, 3}));
      EXPECT_EQ(bytes.scalar_type(), torch::kUInt8);
      EXPECT_TRUE(torch::equal(bytes, expected))
          << "latent channels " << latent_channels << ", chunk " << chunk;
      // Not a degenerate clip: clamped pixels at both ends and levels in between.
      EXPECT_GT(bytes.eq(0).sum().item<int64_t>(), 0);
      EXPECT_GT(bytes.eq(255).sum().item<int64_t>(), 0);
      EXPECT_GT(bytes.gt(0).logical_and(bytes.lt(255)).sum().item<int64_t>(), bytes.numel() / 4);
    }
  }
}

TEST(Vae, PixelsToBytesScalesRoundsAndClamps) {
  // round(127.5 (x + 1)) after the clamp: -3 and -1 -> 0, 0 -> 127.5 -> 128, 0.5 -> 191.25
  // -> 191, 1 and 2 -> 255.
  auto x = torch::tensor({-3.0f, -1.0f, 0.0f, 0.5f, 1.0f, 2.0f}).view({1, 1, 6, 1, 1});
  auto bytes = PixelsToBytes(torch::cat({x, -x, x * 0}, 1));
  ASSERT_EQ(bytes.sizes(), (std::vector<int64_t>{1, 6, 1, 1, 3}));  // channels last
  EXPECT_TRUE(torch::equal(bytes.select(4, 0).flatten(),
                           torch::tensor({0, 0, 128, 191, 255, 255}, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(bytes.select(4, 1).flatten(),
                           torch::tensor({255, 255, 128, 64, 0, 0}, torch::kUInt8)));
  EXPECT_TRUE(bytes.select(4, 2).eq(128).all().item<bool>());
}

TEST(Vae, CausalTemporalUpsampleGivesTwoTMinusOneFrames) {
  auto x = torch::arange(3, torch::kFloat).view({1, 1, 3, 1, 1});
  auto y = CausalTemporalUpsample(x).flatten();
  EXPECT_TRUE(torch::equal(y, torch::tensor({0.f, 1.f, 1.f, 2.f, 2.f})));
}

TEST(Vae, ThinDecoderHasFewerParametersAndSameOutputShape) {
  auto config = *LoadPreset("tiny");
  VaeDecoder full(DecoderOptionsFromConfig(config, /*thin=*/false));
  VaeDecoder thin(DecoderOptionsFromConfig(config, /*thin=*/true));
  EXPECT_LT(CountParameters(*thin), CountParameters(*full));
  EXPECT_EQ(thin->StageWidth(0), 8);
  EXPECT_EQ(thin->StageWidth(1), 16);
  EXPECT_EQ(thin->StageWidth(2), 128);
  torch::NoGradGuard no_grad;
  auto z = torch::randn({1, 8, 2, 2, 2});
  EXPECT_EQ(thin->forward(z).sizes(), full->forward(z).sizes());
  EXPECT_EQ(thin->forward(z).sizes(), (std::vector<int64_t>{1, 3, 5, 16, 16}));
}

TEST(Vae, OutputPatchKeepsShapeCausalityAndChunking) {
  torch::NoGradGuard no_grad;
  for (int64_t patch : {2, 4}) {
    torch::manual_seed(3);
    VaeDecoder decoder(
        VaeDecoderOptions().latent_channels(8).channels({32, 64, 128}).output_patch(patch));
    EXPECT_TRUE(decoder->StageUpsamplesSpace(2));
    EXPECT_EQ(decoder->StageUpsamplesSpace(1), patch < 4);
    EXPECT_FALSE(decoder->StageUpsamplesSpace(0));
    auto z = torch::randn({2, 8, 4, 2, 3});
    auto whole = decoder->forward(z);
    ASSERT_EQ(whole.sizes(), (std::vector<int64_t>{2, 3, 13, 16, 24})) << "patch " << patch;
    auto chunked = decoder->DecodeInChunks(z, 1);
    EXPECT_TRUE(torch::allclose(chunked, whole, 1e-4, 1e-5)) << "patch " << patch;
    auto changed = z.clone();
    changed.narrow(2, 2, 1).add_(1.0);  // latent 2 covers frames 5..8
    auto frames = decoder->forward(changed);
    EXPECT_TRUE(torch::equal(whole.narrow(2, 0, 5), frames.narrow(2, 0, 5))) << "patch " << patch;
    EXPECT_FALSE(torch::equal(whole.narrow(2, 5, 1), frames.narrow(2, 5, 1))) << "patch " << patch;
  }
}

TEST(Vae, OutputPatchPutsEachChannelGroupOnItsPixels) {
  // Zero every weight of the output convolution but one output channel's bias: that
  // channel, c p^2 + i p + j, must light exactly pixel (i, j) of every p x p block of
  // colour c (the thumbnail shortcut adds the same block value everywhere, so it cancels
  // in the difference against the all-zero-bias decoder).
  torch::NoGradGuard no_grad;
  const int64_t p = 2, c = 1, i = 0, j = 1;
  torch::manual_seed(4);
  VaeDecoder decoder(VaeDecoderOptions().latent_channels(8).channels({32, 64, 128}).output_patch(p));
  auto z = torch::randn({1, 8, 2, 2, 2});
  for (auto& item : decoder->named_parameters()) {
    if (item.key().rfind("conv_out.", 0) == 0) item.value().zero_();
  }
  const auto base = decoder->forward(z);
  for (auto& item : decoder->named_parameters()) {
    if (item.key().rfind("conv_out.", 0) == 0 && item.value().dim() == 1) {
      item.value()[c * p * p + i * p + j] = 1.0;
    }
  }
  const auto lit = decoder->forward(z) - base;
  ASSERT_EQ(lit.sizes(), base.sizes());
  const auto blocks = lit.view({1, 3, 5, 8, p, 8, p});  // [.., H/p, i, W/p, j]
  const auto on = blocks.select(1, c).select(3, i).select(4, j);
  EXPECT_TRUE(torch::allclose(on, torch::ones_like(on), 0, 1e-5));
  EXPECT_NEAR(lit.abs().sum().item<double>(), 5.0 * 8 * 8, 1e-2);  // nothing anywhere else
}

TEST(Vae, InitOutputPatchFromStartsALargerPatchAsTheSmallerOnesOutputUpsampled) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  const auto options = VaeDecoderOptions().latent_channels(8).channels({32, 64, 128});
  auto output_conv = [](VaeDecoder& d) {
    return d->named_modules()["conv_out"]->as<CausalConv3dImpl>();
  };
  auto depth_to_space = [](const torch::Tensor& x, int64_t p) {
    const int64_t b = x.size(0), c = x.size(1) / (p * p), t = x.size(2), h = x.size(3),
                  w = x.size(4);
    return x.reshape({b, c, p, p, t, h, w})
        .permute({0, 1, 4, 5, 2, 6, 3})
        .reshape({b, c, t, h * p, w * p});
  };
  VaeDecoder source(options);  // output patch 1
  const auto features = torch::randn({1, 32, 3, 4, 5});
  const auto pixels = output_conv(source)->forward(features);  // [1, 3, 3, 4, 5]
  for (int64_t p : {2, 4}) {
    VaeDecoder target(VaeDecoderOptions(options).output_patch(p));
    const auto before = output_conv(target)->forward(features);
    ASSERT_TRUE(target->InitOutputPatchFrom(*source)) << "p=" << p;
    const auto blocks = depth_to_space(output_conv(target)->forward(features), p);
    const auto upsampled = pixels.repeat_interleave(p, 3).repeat_interleave(p, 4);
    EXPECT_TRUE(torch::allclose(blocks, upsampled, 1e-5, 1e-6)) << "p=" << p;
    EXPECT_FALSE(torch::allclose(depth_to_space(before, p), upsampled, 1e-2, 1e-2));
  }
  // A smaller patch cannot be made from a larger one; other widths do not fit.
  VaeDecoder four(VaeDecoderOptions(options).output_patch(4));
  VaeDecoder two(VaeDecoderOptions(options).output_patch(2));
  EXPECT_FALSE(two->InitOutputPatchFrom(*four));
  VaeDecoder narrow(VaeDecoderOptions(options).output_patch(4).width_multiplier(0.5).narrowed_stages(1));
  EXPECT_FALSE(narrow->InitOutputPatchFrom(*source));
}

// The folds (VaeDecoder::fold_upsampling, fold_norms; CausalResBlock::fold_norm) are
// CUDA kernel paths: where no kernel takes them (the CPU), the decoder must run exactly as
// without them, whole and in chunks, the output norm applied once.
TEST(Vae, FoldFlagsLeaveADecodeWithoutTheKernelsAlone) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(8);
  VaeDecoder plain(VaeDecoderOptions()
                       .latent_channels(8)
                       .channels({32, 64, 128})
                       .width_multiplier(0.25)
                       .narrowed_stages(2));
  auto folded = std::dynamic_pointer_cast<VaeDecoderImpl>(plain->clone());
  ASSERT_NE(folded, nullptr);
  folded->fold_upsampling = true;
  folded->fold_norms = true;
  for (const auto& module : folded->modules(/*include_self=*/false)) {
    if (auto* block = module->as<CausalResBlockImpl>()) block->fold_norm = true;
  }
  const auto z = torch::randn({1, 8, 3, 2, 2});
  EXPECT_TRUE(torch::equal(folded->forward(z), plain->forward(z)));
  EXPECT_TRUE(torch::equal(folded->DecodeInChunks(z, 1), plain->DecodeInChunks(z, 1)));
  EXPECT_TRUE(torch::equal(folded->DecodeToBytes(z, 0), plain->DecodeToBytes(z, 0)));
}

// A reshaped decoder keeps the reference decoder's output shape, decodes the same in chunks
// as whole, and stays causal: changing latent 2 leaves frames 0..4 alone.
void ExpectSameShapeChunkableAndCausal(VaeDecoder& decoder, VaeDecoder& reference,
                                       const torch::Tensor& z) {
  const auto whole = decoder->forward(z);
  ASSERT_EQ(whole.sizes(), reference->forward(z).sizes());
  EXPECT_TRUE(torch::allclose(decoder->DecodeInChunks(z, 1), whole, 1e-4, 1e-5));
  auto changed = z.clone();
  changed.narrow(2, 2, 1).add_(1.0);  // latent 2 covers frames 5..8
  EXPECT_TRUE(torch::equal(whole.narrow(2, 0, 5), decoder->forward(changed).narrow(2, 0, 5)));
}

TEST(Vae, LatentResBlocksDropTheDeepestStageBlocksThenTheMidBlock) {
  torch::NoGradGuard no_grad;
  auto has_prefix = [](const VaeDecoder& d, const std::string& prefix) {
    for (const auto& item : d->named_parameters()) {
      if (item.key().rfind(prefix, 0) == 0) return true;
    }
    return false;
  };
  const auto options = VaeDecoderOptions().latent_channels(8).channels({32, 64, 128});
  VaeDecoder all(options);
  VaeDecoder one(VaeDecoderOptions(options).latent_res_blocks(1));
  VaeDecoder none(VaeDecoderOptions(options).latent_res_blocks(0));
  EXPECT_TRUE(has_prefix(all, "mid.") && has_prefix(all, "stage2_block0."));
  EXPECT_TRUE(has_prefix(one, "mid."));
  EXPECT_FALSE(has_prefix(one, "stage2_block0."));
  EXPECT_FALSE(has_prefix(none, "mid.") || has_prefix(none, "stage2_block0."));
  // The shallower stages keep their blocks.
  EXPECT_TRUE(has_prefix(none, "stage1_block0.") && has_prefix(none, "stage0_block0."));
  EXPECT_EQ(all->LatentLevelConvs().size(), 5u);
  EXPECT_EQ(one->LatentLevelConvs().size(), 3u);
  EXPECT_EQ(none->LatentLevelConvs().size(), 1u);
  EXPECT_FALSE(none->HasMidBlock());
  EXPECT_EQ(one->BlocksInStage(2), 0);
  EXPECT_EQ(one->BlocksInStage(1), 1);

  // Same output shape, causal and chunkable like the full-depth decoder.
  torch::manual_seed(5);
  auto z = torch::randn({1, 8, 3, 2, 2});
  for (VaeDecoder* d : {&one, &none}) ExpectSameShapeChunkableAndCausal(*d, all, z);
  EXPECT_THROW(VaeDecoder(VaeDecoderOptions(options).latent_res_blocks(3)), c10::Error);
}

// A small thin decoder shaped as the shipped one before upsample_to_next_width: the two
// pixel-near stages at 1/4 width, only the mid block at the latents' resolution.
VaeDecoderOptions OneBlockThinDecoderOptions() {
  return VaeDecoderOptions()
      .latent_channels(8)
      .channels({32, 64, 128})
      .width_multiplier(0.25)
      .narrowed_stages(2)
      .latent_res_blocks(1);
}

TEST(Vae, UpsampleToNextWidthNarrowsTheDeepestUpsamplingAndDropsTheNextSkip) {
  torch::NoGradGuard no_grad;
  const auto thin = OneBlockThinDecoderOptions();
  VaeDecoder plain(thin);
  VaeDecoder one(VaeDecoderOptions(thin).upsample_to_next_width(1));
  VaeDecoder two(VaeDecoderOptions(thin).upsample_to_next_width(2));
  auto params = [](const VaeDecoder& d) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& item : d->named_parameters()) shapes[item.key()] = item.value().sizes().vec();
    return shapes;
  };
  const auto p0 = params(plain), p1 = params(one), p2 = params(two);
  EXPECT_EQ(p0.at("stage2_up.conv.weight"), (std::vector<int64_t>{128, 128, 3, 3, 3}));
  EXPECT_EQ(p1.at("stage2_up.conv.weight"), (std::vector<int64_t>{16, 128, 3, 3, 3}));
  EXPECT_EQ(p1.at("stage1_block0.conv1.conv.weight"), (std::vector<int64_t>{16, 16, 3, 3, 3}));
  EXPECT_TRUE(p0.count("stage1_block0.skip.weight"));
  EXPECT_FALSE(p1.count("stage1_block0.skip.weight"));
  EXPECT_TRUE(p1.count("stage0_block0.skip.weight"));  // only the deepest stage changed
  EXPECT_EQ(p1.at("stage1_up.conv.weight"), (std::vector<int64_t>{16, 16, 3, 3, 3}));
  EXPECT_EQ(p2.at("stage1_up.conv.weight"), (std::vector<int64_t>{8, 16, 3, 3, 3}));
  EXPECT_FALSE(p2.count("stage0_block0.skip.weight"));
  EXPECT_EQ(one->UpsampleOutputWidth(2), 16);
  EXPECT_EQ(one->UpsampleOutputWidth(1), 16);
  EXPECT_EQ(two->UpsampleOutputWidth(1), 8);
  EXPECT_EQ(two->UpsampleOutputWidth(0), 8);

  // Same output shape, causal and chunkable.
  torch::manual_seed(6);
  const auto z = torch::randn({1, 8, 3, 2, 2});
  for (VaeDecoder* d : {&one, &two}) ExpectSameShapeChunkableAndCausal(*d, plain, z);
  EXPECT_THROW(VaeDecoder(VaeDecoderOptions(thin).upsample_to_next_width(3)), c10::Error);
  EXPECT_THROW(VaeDecoder(VaeDecoderOptions(thin).upsample_to_next_width(-1)), c10::Error);
}

TEST(Vae, InitUpsampleToNextWidthStartsAsTheSourceWithoutTheNextResidualBranch) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  const auto thin = OneBlockThinDecoderOptions();
  VaeDecoder source(thin);
  // Randomise the biases too (they start at zero), so that the composition's bias is tested.
  for (auto& p : source->parameters()) {
    if (p.dim() == 1) p.normal_(0.0, 0.1);
  }
  const auto z = torch::randn({1, 8, 3, 2, 2});
  const auto before = source->forward(z);
  for (int64_t stages : {1, 2}) {
    VaeDecoder reshaped(VaeDecoderOptions(thin).upsample_to_next_width(stages));
    // What the trainer does first: copy every tensor whose name and shape still fit.
    auto copy_fitting = [&](VaeDecoder& to_decoder) {
      auto to = to_decoder->named_parameters();
      for (const auto& item : source->named_parameters()) {
        if (auto* t = to.find(item.key()); t != nullptr && t->sizes() == item.value().sizes()) {
          t->copy_(item.value());
        }
      }
    };
    copy_fitting(reshaped);
    EXPECT_EQ(reshaped->InitUpsampleToNextWidthFrom(*source), stages);
    // The source without the residual branches of the blocks whose skip was folded in.
    VaeDecoder expected(thin);
    copy_fitting(expected);
    auto e = expected->named_parameters();
    const std::vector<std::string> blocks = {"stage1_block0", "stage0_block0"};
    for (int64_t i = 0; i < stages; ++i) {
      e[blocks[i] + ".conv2.conv.weight"].zero_();
      e[blocks[i] + ".conv2.conv.bias"].zero_();
    }
    const auto want = expected->forward(z);
    EXPECT_FALSE(torch::allclose(want, before, 1e-3, 1e-3));  // the branch did matter
    EXPECT_TRUE(torch::allclose(reshaped->forward(z), want, 1e-4, 1e-4)) << stages;
  }
  // Nothing to fold: same shape as the source.
  VaeDecoder same(thin);
  EXPECT_EQ(same->InitUpsampleToNextWidthFrom(*source), 0);
}

TEST(Vae, ThinLatentResBlocksComeFromTheConfigAndLeaveTheFullDecoder) {
  auto config = *LoadPreset("tiny");
  config.vae.thin_latent_res_blocks = 0;
  EXPECT_EQ(DecoderOptionsFromConfig(config, /*thin=*/false).latent_res_blocks(), -1);
  EXPECT_EQ(DecoderOptionsFromConfig(config, /*thin=*/true).latent_res_blocks(), 0);
}

TEST(Vae, ThinOutputPatchComesFromTheConfig) {
  auto config = *LoadPreset("tiny");
  config.vae.thin_output_patch = 2;
  VaeDecoder full(DecoderOptionsFromConfig(config, /*thin=*/false));
  VaeDecoder thin(DecoderOptionsFromConfig(config, /*thin=*/true));
  EXPECT_EQ(full->options.output_patch(), 1);
  EXPECT_EQ(thin->options.output_patch(), 2);
  torch::NoGradGuard no_grad;
  auto z = torch::randn({1, 8, 2, 2, 2});
  EXPECT_EQ(thin->forward(z).sizes(), full->forward(z).sizes());
}

}  // namespace
}  // namespace vidserve

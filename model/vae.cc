#include "model/vae.h"

#include <algorithm>
#include <cmath>
#include <string>

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/decoder_output_bytes.h"
#endif

namespace vidserve {
namespace {

constexpr int64_t kNumStages = 3;
// Stages whose downsampling (and the mirrored upsampling) also halves time.
bool HalvesTime(int64_t stage) { return stage < 2; }

// Nearest-neighbour 2x in H and W. expand + reshape is one copy; repeat_interleave would
// gather through an index tensor and is several times slower on CPU.
torch::Tensor SpatialUpsample2x(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  return x.unsqueeze(4).unsqueeze(6).expand({b, c, t, h, 2, w, 2}).reshape({b, c, t, 2 * h, 2 * w});
}

// [B, C p^2, T, H, W] -> [B, C, T, pH, pW]: channel c p^2 + i p + j becomes pixel (i, j)
// of each p x p block; one copy.
torch::Tensor DepthToSpace(const torch::Tensor& x, int64_t p) {
  if (p == 1) return x;
  const int64_t b = x.size(0), c = x.size(1) / (p * p), t = x.size(2), h = x.size(3), w = x.size(4);
  return x.reshape({b, c, p, p, t, h, w})
      .permute({0, 1, 4, 5, 2, 6, 3})
      .reshape({b, c, t, h * p, w * p});
}

torch::Tensor RepeatFramesTwice(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  return x.unsqueeze(3).expand({b, c, t, 2, h, w}).reshape({b, c, 2 * t, h, w});
}

// The 8x8-pixel, 4-frame block means of x [B, C, T, H, W], laid out like the latent: frame 0
// alone on the first chunk of a video, then groups of 4 frames (T' = 1 + (T-1)/4).
torch::Tensor BlockMeans(const torch::Tensor& x, bool first_chunk) {
  const auto spatial = torch::avg_pool3d(x, {1, 8, 8}, {1, 8, 8});
  const int64_t b = spatial.size(0), c = spatial.size(1), h = spatial.size(3), w = spatial.size(4);
  std::vector<torch::Tensor> parts;
  int64_t start = 0;
  if (first_chunk) {
    parts.push_back(spatial.narrow(2, 0, 1));
    start = 1;
  }
  const int64_t rest = spatial.size(2) - start;
  if (rest > 0) {
    parts.push_back(spatial.narrow(2, start, rest).reshape({b, c, rest / 4, 4, h, w}).mean(3));
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 2);
}

// The inverse layout: every latent voxel of x repeated over its 8x8 pixels and its frames.
torch::Tensor BlockRepeat(const torch::Tensor& x, bool first_chunk) {
  auto h = SpatialUpsample2x(SpatialUpsample2x(SpatialUpsample2x(x)));
  if (first_chunk) return CausalTemporalUpsample(CausalTemporalUpsample(h));
  return RepeatFramesTwice(RepeatFramesTwice(h));
}

}  // namespace

torch::Tensor CausalTemporalUpsample(const torch::Tensor& x) {
  return RepeatFramesTwice(x).narrow(2, 1, 2 * x.size(2) - 1);
}

VaeEncoderImpl::VaeEncoderImpl(const VaeEncoderOptions& options_) : options(options_) { reset(); }

void VaeEncoderImpl::reset() {
  const auto& ch = options.channels();
  TORCH_CHECK(static_cast<int64_t>(ch.size()) == kNumStages, "VaeEncoder: channels must have ",
              kNumStages, " entries");
  blocks_.clear();
  downsamples_.clear();
  conv_in_ =
      register_module("conv_in", CausalConv3d(CausalConv3dOptions(options.in_channels(), ch[0])));
  int64_t width = ch[0];
  for (int64_t s = 0; s < kNumStages; ++s) {
    for (int64_t b = 0; b < options.blocks_per_stage(); ++b) {
      blocks_.push_back(register_module("stage" + std::to_string(s) + "_block" + std::to_string(b),
                                        CausalResBlock(CausalResBlockOptions(width, ch[s]))));
      width = ch[s];
    }
    downsamples_.push_back(
        register_module("stage" + std::to_string(s) + "_down",
                        CausalConv3d(CausalConv3dOptions(width, width)
                                         .spatial_stride(2)
                                         .temporal_stride(HalvesTime(s) ? 2 : 1))));
  }
  mid_ = register_module("mid", CausalResBlock(CausalResBlockOptions(width, width)));
  norm_out_ = register_module(
      "norm_out", ChannelRmsNorm(width));
  conv_out_ = register_module(
      "conv_out", CausalConv3d(CausalConv3dOptions(width, 2 * options.latent_channels())));
}

torch::Tensor VaeEncoderImpl::forward(const torch::Tensor& pixels) {
  return ForwardChunk(pixels, nullptr);
}

torch::Tensor VaeEncoderImpl::ForwardInChunks(const torch::Tensor& pixels,
                                              int64_t chunk_latent_frames) {
  const int64_t frames = pixels.size(2);
  const int64_t chunk = 4 * chunk_latent_frames;
  if (chunk_latent_frames <= 0 || 1 + chunk >= frames) return forward(pixels);
  // Chunks of 1 + 4a, then 4a pixel frames keep every stride-2 convolution aligned: each
  // chunk yields exactly a latent frames (the first one a + 1).
  CausalConvCache cache;
  std::vector<torch::Tensor> outputs;
  for (int64_t start = 0; start < frames;) {
    const int64_t length = std::min(start == 0 ? 1 + chunk : chunk, frames - start);
    outputs.push_back(ForwardChunk(pixels.narrow(2, start, length), &cache));
    start += length;
  }
  return torch::cat(outputs, 2);
}

torch::Tensor VaeEncoderImpl::ForwardChunk(const torch::Tensor& pixels, CausalConvCache* cache) {
  const bool first_chunk = cache == nullptr || cache->empty();
  auto h = conv_in_->forward(pixels, cache);
  size_t block = 0;
  for (int64_t s = 0; s < kNumStages; ++s) {
    for (int64_t b = 0; b < options.blocks_per_stage(); ++b) {
      h = blocks_[block++]->forward(h, cache);
    }
    h = downsamples_[s]->forward(h, cache);
  }
  h = mid_->forward(h, cache);
  auto moments = conv_out_->forward(norm_out_->ForwardSilu(h), cache);
  // Shortcut (as in DC-AE's residual autoencoding): the first three mean channels carry
  // the RGB block means on top of what the network adds, so the deep path learns a
  // residual over a thumbnail instead of having to discover colour from scratch.
  const int64_t shortcut = std::min<int64_t>(3, options.latent_channels());
  const auto thumb = BlockMeans(pixels.narrow(1, 0, shortcut), first_chunk);
  return torch::cat({moments.narrow(1, 0, shortcut) + thumb,
                     moments.narrow(1, shortcut, moments.size(1) - shortcut)},
                    1);
}

torch::Tensor VaeEncoderImpl::EncodeMean(const torch::Tensor& pixels, int64_t chunk_latent_frames) {
  return ForwardInChunks(pixels, chunk_latent_frames).narrow(1, 0, options.latent_channels());
}

VaeDecoderImpl::VaeDecoderImpl(const VaeDecoderOptions& options_) : options(options_) { reset(); }

int64_t VaeDecoderImpl::StageWidth(int64_t stage) const {
  const int64_t full = options.channels()[stage];
  if (stage >= options.narrowed_stages() || options.width_multiplier() >= 1.0) return full;
  const double scaled = static_cast<double>(full) * options.width_multiplier();
  return std::max<int64_t>(8, static_cast<int64_t>(std::llround(scaled / 8.0)) * 8);
}

bool VaeDecoderImpl::StageUpsamplesSpace(int64_t stage) const {
  return (int64_t{1} << stage) >= options.output_patch();
}

int64_t VaeDecoderImpl::BlocksInStage(int64_t stage) const {
  const int64_t n = options.blocks_per_stage();
  const int64_t latent = options.latent_res_blocks();
  if (stage != kNumStages - 1 || latent < 0) return n;
  return std::clamp<int64_t>(latent - 1, 0, n);  // the mid block is kept first
}

int64_t VaeDecoderImpl::UpsampleOutputWidth(int64_t stage) const {
  const bool to_next = stage >= 1 && stage >= kNumStages - options.upsample_to_next_width();
  return to_next ? StageWidth(stage - 1) : StageWidth(stage);
}

bool VaeDecoderImpl::HasMidBlock() const { return options.latent_res_blocks() != 0; }

std::vector<CausalConv3d> VaeDecoderImpl::LatentLevelConvs() const {
  std::vector<CausalConv3d> convs = {conv_in_};
  if (HasMidBlock()) {
    convs.push_back(mid_->conv1);
    convs.push_back(mid_->conv2);
  }
  // blocks_ is deepest stage first.
  for (int64_t b = 0; b < BlocksInStage(kNumStages - 1); ++b) {
    convs.push_back(blocks_[b]->conv1);
    convs.push_back(blocks_[b]->conv2);
  }
  return convs;
}

bool VaeDecoderImpl::InitOutputPatchFrom(const VaeDecoderImpl& source) {
  const int64_t p = options.output_patch(), p0 = source.options.output_patch();
  const auto& from = source.conv_out_->conv;
  auto& to = conv_out_->conv;
  const int64_t channels = options.out_channels();
  if (p % p0 != 0 || source.options.out_channels() != channels ||
      from->weight.size(0) != channels * p0 * p0 || to->weight.size(0) != channels * p * p ||
      from->weight.sizes().slice(1) != to->weight.sizes().slice(1) ||
      from->bias.defined() != to->bias.defined()) {
    return false;
  }
  // Output channel c p^2 + i p + j is pixel (i, j) of colour c's block (DepthToSpace);
  // it lies at (i mod p0, j mod p0) of a p0 x p0 block of `source`'s output.
  std::vector<int64_t> rows;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < p; ++i) {
      for (int64_t j = 0; j < p; ++j) rows.push_back(c * p0 * p0 + (i % p0) * p0 + j % p0);
    }
  }
  const auto index = torch::tensor(rows, torch::kLong).to(from->weight.device());
  torch::NoGradGuard no_grad;
  to->weight.copy_(from->weight.index_select(0, index));
  if (to->bias.defined()) to->bias.copy_(from->bias.index_select(0, index));
  return true;
}

int64_t VaeDecoderImpl::InitUpsampleToNextWidthFrom(const VaeDecoderImpl& source) {
  torch::NoGradGuard no_grad;
  int64_t set = 0;
  size_t block = 0, source_block = 0;  // first block of the stage after s, deepest first
  for (int64_t s = kNumStages - 1, i = 0; s >= 1; --s, ++i) {
    block += static_cast<size_t>(BlocksInStage(s));
    source_block += static_cast<size_t>(source.BlocksInStage(s));
    // Stage s - 1's first block exists on both sides when it has blocks (blocks_ is stage
    // by stage, deepest first).
    if (UpsampleOutputWidth(s) == StageWidth(s) || BlocksInStage(s - 1) == 0 ||
        source.BlocksInStage(s - 1) == 0) {
      continue;
    }
    const auto& skip = source.blocks_[source_block]->skip;
    auto& to = upsample_convs_[static_cast<size_t>(i)]->conv;
    const auto& from = source.upsample_convs_[static_cast<size_t>(i)]->conv;
    if (!skip || !from->bias.defined() || !to->bias.defined() ||
        from->weight.size(0) != skip->weight.size(1) ||
        from->weight.sizes().slice(1) != to->weight.sizes().slice(1) ||
        skip->weight.size(0) != to->weight.size(0)) {
      continue;
    }
    // skip(up(x)) = S (W * x + b) + s_b: S applied to W's output channels.
    const auto projection = skip->weight.flatten(1);  // [out, mid]
    to->weight.copy_(projection.matmul(from->weight.flatten(1)).view_as(to->weight));
    to->bias.copy_(projection.matmul(from->bias) +
                   (skip->bias.defined() ? skip->bias : torch::zeros_like(to->bias)));
    auto& conv2 = blocks_[block]->conv2->conv;
    conv2->weight.zero_();
    if (conv2->bias.defined()) conv2->bias.zero_();
    ++set;
  }
  return set;
}

void VaeDecoderImpl::reset() {
  TORCH_CHECK(static_cast<int64_t>(options.channels().size()) == kNumStages,
              "VaeDecoder: channels must have ", kNumStages, " entries");
  const int64_t p = options.output_patch();
  TORCH_CHECK(p == 1 || p == 2 || p == 4, "VaeDecoder: output_patch must be 1, 2 or 4, got ", p);
  TORCH_CHECK(options.latent_res_blocks() >= -1 &&
                  options.latent_res_blocks() <= 1 + options.blocks_per_stage(),
              "VaeDecoder: latent_res_blocks must be -1 (all) or 0..", 1 + options.blocks_per_stage(),
              ", got ", options.latent_res_blocks());
  TORCH_CHECK(options.upsample_to_next_width() >= 0 &&
                  options.upsample_to_next_width() <= kNumStages - 1,
              "VaeDecoder: upsample_to_next_width must be in [0, ", kNumStages - 1, "], got ",
              options.upsample_to_next_width());
  blocks_.clear();
  mid_ = nullptr;
  upsample_convs_.clear();
  int64_t width = StageWidth(kNumStages - 1);
  conv_in_ = register_module("conv_in",
                             CausalConv3d(CausalConv3dOptions(options.latent_channels(), width)));
  if (HasMidBlock()) {
    mid_ = register_module("mid", CausalResBlock(CausalResBlockOptions(width, width)));
  }
  for (int64_t s = kNumStages - 1; s >= 0; --s) {
    const int64_t stage_width = StageWidth(s);
    for (int64_t b = 0; b < BlocksInStage(s); ++b) {
      blocks_.push_back(register_module("stage" + std::to_string(s) + "_block" + std::to_string(b),
                                        CausalResBlock(CausalResBlockOptions(width, stage_width))));
      width = stage_width;
    }
    const int64_t up_width = UpsampleOutputWidth(s);
    upsample_convs_.push_back(register_module("stage" + std::to_string(s) + "_up",
                                              CausalConv3d(CausalConv3dOptions(width, up_width))));
    width = up_width;
  }
  norm_out_ = register_module(
      "norm_out", ChannelRmsNorm(width));
  conv_out_ = register_module(
      "conv_out", CausalConv3d(CausalConv3dOptions(width, options.out_channels() * p * p)));
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor& latents) {
  return DecodeChunk(latents, nullptr);
}

torch::Tensor VaeDecoderImpl::DecodeInChunks(const torch::Tensor& latents,
                                             int64_t chunk_latent_frames) {
  const int64_t frames = latents.size(2);
  if (chunk_latent_frames <= 0 || chunk_latent_frames >= frames) return forward(latents);
  CausalConvCache cache;
  std::vector<torch::Tensor> outputs;
  for (int64_t start = 0; start < frames; start += chunk_latent_frames) {
    const int64_t length = std::min(chunk_latent_frames, frames - start);
    outputs.push_back(DecodeChunk(latents.narrow(2, start, length), &cache));
  }
  return torch::cat(outputs, 2);
}

torch::Tensor VaeDecoderImpl::DecodeChunk(const torch::Tensor& latents, CausalConvCache* cache) {
  // Only the video's first latent frame maps to a single pixel frame; later chunks
  // upsample every frame to two.
  const bool first_chunk = cache == nullptr || cache->empty();
  return AddShortcut(DecodeChunkWithoutShortcut(latents, cache), latents, first_chunk);
}

torch::Tensor VaeDecoderImpl::DecodeChunkWithoutShortcut(const torch::Tensor& latents,
                                                        CausalConvCache* cache) {
  return DepthToSpace(DecodeChunkPatches(latents, cache), options.output_patch());
}

torch::Tensor VaeDecoderImpl::DecodeChunkPatches(const torch::Tensor& latents,
                                                CausalConvCache* cache) {
  const bool first_chunk = cache == nullptr || cache->empty();
  auto h = conv_in_->forward(latents, cache);
  if (HasMidBlock()) h = mid_->forward(h, cache);
  size_t block = 0;
  // The last upsampling convolution's output is read by norm_out only: its kernel can
  // apply the norm (fold_norms).
  const OutputNormSilu then_norm_out = norm_out_->AsOutputNormSilu();
  // (Without a gradient: the convolution's FoldsUpsampling / FoldsOutputNorm check that.)
  const bool may_fold_norm_out = fold_norms && norm_out_->fused;
  bool normed = false;
  for (int64_t s = kNumStages - 1, i = 0; s >= 0; --s, ++i) {
    for (int64_t b = 0; b < BlocksInStage(s); ++b) {
      h = blocks_[block++]->forward(h, cache);
    }
    const OutputNormSilu* norm = s == 0 && may_fold_norm_out ? &then_norm_out : nullptr;
    h = UpsampleAndConvolve(s, static_cast<size_t>(i), h, cache, first_chunk, norm, &normed);
  }
  return conv_out_->forward(normed ? h : norm_out_->ForwardSilu(h), cache);
}

torch::Tensor VaeDecoderImpl::UpsampleAndConvolve(int64_t stage, size_t conv_index,
                                                  torch::Tensor h, CausalConvCache* cache,
                                                  bool first_chunk, const OutputNormSilu* norm,
                                                  bool* normed) {
  CausalConv3d& conv = upsample_convs_[conv_index];
  const bool time = HalvesTime(stage), space = StageUpsamplesSpace(stage);
  *normed = false;
  // A whole clip's upsampling (the first chunk's, causal in time) can be read through by a
  // narrow convolution's kernel: no copies.
  if (fold_upsampling && cache == nullptr && conv->FoldsUpsampling(h, time, space, norm)) {
    *normed = norm != nullptr;
    return conv->ForwardFoldingUpsampling(h, time, space, norm);
  }
  // Time first: the spatial upsampling's copy then also makes the first chunk's
  // time-upsampled view (a narrow) contiguous, which the narrow-conv kernel needs.
  if (time) h = first_chunk ? CausalTemporalUpsample(h) : RepeatFramesTwice(h);
  if (space) h = SpatialUpsample2x(h);
  if (norm != nullptr) {
    h = conv->ContiguousForDirectKernel(h);  // as forward() would copy it
    if (conv->FoldsOutputNorm(h, *norm, cache)) {
      *normed = true;
      return conv->ForwardWithOutputNorm(h, *norm, cache);
    }
  }
  return conv->forward(h, cache);
}

torch::Tensor VaeDecoderImpl::Thumbnail(const torch::Tensor& latents) const {
  return latents.narrow(1, 0, std::min<int64_t>(3, options.latent_channels()));
}

torch::Tensor VaeDecoderImpl::AddShortcut(const torch::Tensor& out, const torch::Tensor& latents,
                                          bool first_chunk) const {
  // The decoder's half of the shortcut: the thumbnail channels, repeated over their pixels.
  const auto thumb = BlockRepeat(Thumbnail(latents), first_chunk);
  const int64_t shortcut = thumb.size(1);
  if (shortcut == out.size(1)) return out + thumb;
  return torch::cat({out.narrow(1, 0, shortcut) + thumb,
                     out.narrow(1, shortcut, out.size(1) - shortcut)},
                    1);
}

torch::Tensor PixelsToBytes(const torch::Tensor& pixels) {
  // Rounded in float32 whatever the decode precision (half precision cannot hold 127.5 * x
  // to a byte's rounding).
  return pixels.to(torch::kFloat)
      .clamp(-1.0, 1.0)
      .add(1.0)
      .mul(127.5)
      .round()
      .to(torch::kUInt8)
      .permute({0, 2, 3, 4, 1})
      .contiguous();
}

torch::Tensor VaeDecoderImpl::DecodeToBytes(const torch::Tensor& latents,
                                            int64_t chunk_latent_frames) {
  const int64_t frames = latents.size(2);
  const int64_t chunk = chunk_latent_frames <= 0 ? frames : std::min(chunk_latent_frames, frames);
  auto bytes = torch::empty({latents.size(0), 1 + 4 * (frames - 1), 8 * latents.size(3),
                             8 * latents.size(4), 3},
                            latents.options().dtype(torch::kUInt8));
  const int64_t patch = options.output_patch();
  CausalConvCache cache;
  int64_t frame_offset = 0;
  for (int64_t start = 0; start < frames; start += chunk) {
    const bool first_chunk = start == 0;
    const auto chunk_latents = latents.narrow(2, start, std::min(chunk, frames - start));
    // Before the depth-to-space: the CUDA kernel reads the p x p blocks in place.
    const auto patches = DecodeChunkPatches(chunk_latents, chunk < frames ? &cache : nullptr);
    const int64_t out_frames = patches.size(2);
#ifdef VIDSERVE_HAVE_CUDA
    // The kernel reads NCDHW: a channels-last convolution output (decode_channels_last)
    // costs one copy, as the depth-to-space did.
    const auto kernel_patches = patches.is_cuda() ? patches.contiguous() : patches;
    const auto thumb = Thumbnail(chunk_latents);
    if (DecoderOutputBytesCudaSupported(kernel_patches, thumb, first_chunk, bytes, frame_offset,
                                        patch)) {
      DecoderOutputBytesCuda(kernel_patches, thumb, first_chunk, bytes, frame_offset, patch);
      frame_offset += out_frames;
      continue;
    }
#endif
    bytes.narrow(1, frame_offset, out_frames)
        .copy_(PixelsToBytes(AddShortcut(DepthToSpace(patches, patch), chunk_latents,
                                         first_chunk)));
    frame_offset += out_frames;
  }
  return bytes;
}

}  // namespace vidserve

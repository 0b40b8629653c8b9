// The causal video VAE: 8x spatial and 4x temporal compression (first frame alone, so
// T' = 1 + (T-1)/4), built only from causal convolutions and per-voxel channel norms so it
// is causal in time: latent j depends on frames <= 4j only, and decoded frame f on latents
// <= ceil(f/4) only.
//
// A fixed shortcut (as in DC-AE's residual autoencoding) adds the RGB 8x8x4 block means to
// the first three latent mean channels, and the decoder adds those channels back, repeated
// over their pixels, to its output: the deep path learns a residual over a thumbnail, which
// took a fresh VAE from ~10 to ~20 dB in the first 175 CPU steps.
//
// VaeDecoder takes a width multiplier for its pixel-near stages, so one class builds both
// the full decoder (multiplier 1) and the thin decoder (e.g. 1/4), which is trained against
// the same frozen encoder.
//
// Thread-safety: as torch::nn::Module (concurrent forward() only without mutation).
#ifndef VIDSERVE_MODEL_VAE_H_
#define VIDSERVE_MODEL_VAE_H_

#include <torch/torch.h>

#include <vector>

#include "model/causal_conv3d.h"
#include "model/causal_res_block.h"

namespace vidserve {

struct VaeEncoderOptions {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, latent_channels) = 8;
  // Width of each stride-2 stage, pixel level first; exactly 3 stages (8x spatial). The
  // first two stages also halve time causally (4x temporal).
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{32, 64, 128};
  TORCH_ARG(int64_t, blocks_per_stage) = 1;
};

// Pixels in [-1, 1], [B, 3, T, H, W] with T = 4k+1 and H, W multiples of 8, to the
// posterior's mean and log-variance, each [B, Clat, 1+(T-1)/4, H/8, W/8].
class VaeEncoderImpl : public torch::nn::Cloneable<VaeEncoderImpl> {
 public:
  explicit VaeEncoderImpl(const VaeEncoderOptions& options = {});
  void reset() override;
  // Returns [mean, logvar] concatenated on channels: [B, 2*Clat, T', H', W'].
  torch::Tensor forward(const torch::Tensor& pixels);
  // The same output computed in time chunks of `chunk_latent_frames` latent frames (the
  // first frame, then 4*chunk_latent_frames pixel frames at a time) with the causal
  // convolutions' state carried over: peak activation memory scales with the chunk.
  // Equal to forward() up to float rounding; <= 0 means one chunk.
  torch::Tensor ForwardInChunks(const torch::Tensor& pixels, int64_t chunk_latent_frames);
  // Only the mean: what serving and the denoiser's training data use.
  torch::Tensor EncodeMean(const torch::Tensor& pixels, int64_t chunk_latent_frames = 0);

  VaeEncoderOptions options;

 private:
  torch::Tensor ForwardChunk(const torch::Tensor& pixels, CausalConvCache* cache);

  CausalConv3d conv_in_{nullptr};
  std::vector<CausalResBlock> blocks_;  // blocks_per_stage per stage, stage-major
  std::vector<CausalConv3d> downsamples_;
  CausalResBlock mid_{nullptr};
  ChannelRmsNorm norm_out_{nullptr};
  CausalConv3d conv_out_{nullptr};
};
TORCH_MODULE(VaeEncoder);

struct VaeDecoderOptions {
  TORCH_ARG(int64_t, out_channels) = 3;
  TORCH_ARG(int64_t, latent_channels) = 8;
  // The encoder's stage widths (pixel level first); the decoder mirrors them.
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{32, 64, 128};
  TORCH_ARG(int64_t, blocks_per_stage) = 1;
  // Widths of the `narrowed_stages` pixel-near stages are multiplied by this (rounded to a
  // multiple of 8, at least 8). 1 = the full decoder. The pixel-near stages run at the
  // highest resolution and dominate decode cost, so narrowing only them buys most speed.
  TORCH_ARG(double, width_multiplier) = 1.0;
  TORCH_ARG(int64_t, narrowed_stages) = 0;
  // 1, 2 or 4. With p > 1 the last log2(p) stages skip their 2x spatial upsampling and the
  // output convolution emits 3 p^2 channels that a depth-to-space rearrangement turns into
  // p x p pixels (LTX-Video's VAE ends the same way). No convolution then runs at full
  // resolution, where a GPU spends most of a small decoder's time on thin-channel kernels
  // and memory passes: the thin decoder's lever on the GPU.
  TORCH_ARG(int64_t, output_patch) = 1;
  // How many residual blocks run at the latents' resolution, of the mid block and the
  // deepest stage's blocks_per_stage blocks, in that order (-1 = all of them). On a GPU a
  // small clip's decode is bound by kernel launches, not arithmetic, and each such block is
  // about nine of them whatever its width: a thin decoder that drops them is faster there.
  TORCH_ARG(int64_t, latent_res_blocks) = -1;
  // How many stages, the deepest first (at most all but the pixel-level one), end in an
  // upsampling convolution that emits the next stage's width instead of their own; the next
  // stage's first block then starts at that width and needs no skip projection. In a thin
  // decoder whose deepest stage keeps no block (latent_res_blocks <= 1), 1 turns its
  // 128 -> 128 upsampling convolution (cuDNN, with transposes and a bias add) and the next
  // block's 128-wide norm, split convolution and skip projection into one 128 -> 16
  // convolution and a 16-wide block, all of them vidserve's direct kernels on a GPU; 2 also
  // makes the next upsampling 16 -> 8 (the shipped thin decoder: 2.2x -> 2.5x faster than
  // the full one for one 17x64x64 clip on an H200, BENCHMARKS.md section 3).
  TORCH_ARG(int64_t, upsample_to_next_width) = 0;
};

// Latents [B, Clat, T', H', W'] to pixels [B, 3, 1+4(T'-1), 8H', 8W'] (unclamped).
class VaeDecoderImpl : public torch::nn::Cloneable<VaeDecoderImpl> {
 public:
  explicit VaeDecoderImpl(const VaeDecoderOptions& options = {});
  void reset() override;
  torch::Tensor forward(const torch::Tensor& latents);
  // The same output, computed `chunk_latent_frames` latent frames at a time with the
  // causal convolutions' state carried over: peak activation memory scales with the chunk
  // instead of the whole video (equal to forward() up to float rounding).
  torch::Tensor DecodeInChunks(const torch::Tensor& latents, int64_t chunk_latent_frames);
  // DecodeInChunks as RGB bytes, [B, T, H, W, 3] uint8: PixelsToBytes of its output, chunk
  // by chunk into one tensor. On CUDA the depth-to-space (output_patch > 1), the shortcut add
  // and the conversion run as one kernel (model/cuda/decoder_output_bytes.h), with the same
  // bytes.
  torch::Tensor DecodeToBytes(const torch::Tensor& latents, int64_t chunk_latent_frames);
  // Width of decoder stage i (0 = pixel level) after the multiplier.
  int64_t StageWidth(int64_t stage) const;
  // Whether stage i upsamples 2x in space (all but the last log2(output_patch) stages).
  bool StageUpsamplesSpace(int64_t stage) const;
  // Residual blocks of stage i (the deepest stage's may be fewer: latent_res_blocks).
  int64_t BlocksInStage(int64_t stage) const;
  // Whether the mid block runs (latent_res_blocks != 0).
  bool HasMidBlock() const;
  // The convolutions that run at the latents' resolution, before the first upsampling:
  // conv_in, the mid block's and the deepest stage's blocks' (those that latent_res_blocks
  // keeps).
  std::vector<CausalConv3d> LatentLevelConvs() const;
  // Whether an upsampling before a narrow convolution is read through by the direct CUDA
  // kernel instead of copied (CausalConv3d::ForwardFoldingUpsampling), for clips decoded
  // whole. VideoModel::Options::decode_fold_upsampling sets it; set it before use, not while
  // another thread decodes. No effect on CPU.
  bool fold_upsampling = false;
  // Whether norm_out is applied by the last upsampling convolution's direct CUDA kernel to
  // its output, that layer's only reader (CausalConv3d::ForwardWithOutputNorm), where it can.
  // VideoModel::Options::decode_fold_norms sets it (and CausalResBlock::fold_norm).
  bool fold_norms = false;
  // Sets the output convolution from `source`'s, whose output patch p0 divides this one's
  // p, so that every pixel of a p x p block starts as the value `source`'s output channel
  // for that pixel's place in its p0 x p0 block gives at the block's position: a decoder
  // reshaped to a larger patch starts from the old one's output, nearest-upsampled, not
  // from noise. False (nothing changed) when the shapes do not fit that way.
  bool InitOutputPatchFrom(const VaeDecoderImpl& source);
  // For each stage whose upsampling convolution emits the next stage's width here but its
  // own in `source` (upsample_to_next_width grew), where `source`'s next block projects its
  // input with a 1x1x1 skip: sets this convolution to `source`'s followed by that projection
  // (exact: both are linear), and zeroes the next block's second convolution, so that the
  // block starts as the identity. The decoder then starts as `source` without that block's
  // residual branch, not from noise. Call after copying the tensors that still fit. Returns
  // how many stages it set.
  int64_t InitUpsampleToNextWidthFrom(const VaeDecoderImpl& source);
  // Output width of stage i's upsampling convolution (upsample_to_next_width).
  int64_t UpsampleOutputWidth(int64_t stage) const;

  VaeDecoderOptions options;

 private:
  // One chunk; the first chunk of a video is the one that finds `cache` empty (or null).
  torch::Tensor DecodeChunk(const torch::Tensor& latents, CausalConvCache* cache);
  // DecodeChunk before the shortcut: the output convolution's pixels, [B, out_channels, T, H, W].
  torch::Tensor DecodeChunkWithoutShortcut(const torch::Tensor& latents, CausalConvCache* cache);
  // Stage `stage`'s upsampling and its convolution, upsample_convs_[conv_index], on the
  // stage's output h. With `norm` (norm_out, after the last stage), the output also goes
  // through it when the convolution's kernel can apply it (then *normed is set).
  torch::Tensor UpsampleAndConvolve(int64_t stage, size_t conv_index, torch::Tensor h,
                                    CausalConvCache* cache, bool first_chunk,
                                    const OutputNormSilu* norm, bool* normed);
  // DecodeChunkWithoutShortcut before the depth-to-space: the output convolution's output,
  // [B, out_channels p^2, T, H / p, W / p] with p = output_patch, which DecodeToBytes's CUDA
  // kernel reads in place.
  torch::Tensor DecodeChunkPatches(const torch::Tensor& latents, CausalConvCache* cache);
  // The latent channels the shortcut adds to the first pixel channels (up to 3).
  torch::Tensor Thumbnail(const torch::Tensor& latents) const;
  // out + the thumbnail repeated over its 8 x 8 pixels and 4 frames (the first frame once
  // in a video's first chunk).
  torch::Tensor AddShortcut(const torch::Tensor& out, const torch::Tensor& latents,
                            bool first_chunk) const;

  CausalConv3d conv_in_{nullptr};
  CausalResBlock mid_{nullptr};               // null without latent res blocks
  std::vector<CausalResBlock> blocks_;        // deepest stage first
  std::vector<CausalConv3d> upsample_convs_;  // deepest stage first
  ChannelRmsNorm norm_out_{nullptr};
  CausalConv3d conv_out_{nullptr};
};
TORCH_MODULE(VaeDecoder);

// Decoder pixels in [-1, 1], [B, 3, T, H, W] of any floating type, to RGB bytes
// [B, T, H, W, 3]: round(127.5 (clamp(x, -1, 1) + 1)), in float32.
torch::Tensor PixelsToBytes(const torch::Tensor& pixels);

// Causal 2x temporal upsampling: every frame repeated twice, then the first copy of frame
// 0 dropped, so T -> 2T-1 and output frame f depends on input frames <= ceil(f/2).
torch::Tensor CausalTemporalUpsample(const torch::Tensor& x);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_VAE_H_

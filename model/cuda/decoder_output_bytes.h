// CUDA half of VaeDecoder::DecodeToBytes (model/vae.h; compiled only when CUDA is found:
// VIDSERVE_HAVE_CUDA): the thin decoder's depth-to-space, the shortcut add and the conversion
// to RGB bytes in one kernel, bit-identical to LibTorch's ops
// (model/cuda/decoder_output_bytes.cu says why).
// Thread-safety: stateless; each call launches on the calling thread's current stream.
#ifndef VIDSERVE_MODEL_CUDA_DECODER_OUTPUT_BYTES_H_
#define VIDSERVE_MODEL_CUDA_DECODER_OUTPUT_BYTES_H_

#include <torch/torch.h>

namespace vidserve {

// pixels a contiguous CUDA [B, 3 patch^2, T, H / patch, W / patch] float32, float16 or
// bfloat16 tensor: the output convolution's channels before the depth-to-space (channel
// c patch^2 + i patch + j is pixel (i, j) of each patch x patch block of colour c), patch 1, 2
// or 4; thumbnail undefined or [B, <= 3, T', H / 8, W / 8] of pixels' dtype and device, any
// strides, with T = 1 + 4 (T' - 1) for a video's first chunk or 4 T' after; bytes a
// contiguous uint8 [B, >= frame_offset + T, H, W, 3] on the same device; B * T * H within
// int32.
bool DecoderOutputBytesCudaSupported(const torch::Tensor& pixels, const torch::Tensor& thumbnail,
                                     bool first_chunk, const torch::Tensor& bytes,
                                     int64_t frame_offset, int64_t patch = 1);

// bytes[:, frame_offset : frame_offset + T] = round(127.5 (clamp(depth-to-space(pixels) +
// thumbnail repeated over its 8 x 8 pixels and 4 frames (the first frame once in a first
// chunk), -1, 1) + 1)), channels last. REQUIRES: DecoderOutputBytesCudaSupported(...).
void DecoderOutputBytesCuda(const torch::Tensor& pixels, const torch::Tensor& thumbnail,
                            bool first_chunk, torch::Tensor& bytes, int64_t frame_offset,
                            int64_t patch = 1);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_DECODER_OUTPUT_BYTES_H_

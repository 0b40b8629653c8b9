// Internal interface between the LibTorch wrapper (decoder_output_bytes.cc, host compiler)
// and the kernel (decoder_output_bytes.cu, nvcc). No torch headers here.
#ifndef VIDSERVE_MODEL_CUDA_DECODER_OUTPUT_BYTES_KERNELS_H_
#define VIDSERVE_MODEL_CUDA_DECODER_OUTPUT_BYTES_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda/kernel_dtype.h"

namespace vidserve {
namespace cuda_kernels {

struct DecoderOutputBytesArgs {
  KernelDtype dtype = KernelDtype::kFloat32;  // of pixels and latents
  // [B, 3 patch^2, T, H / patch, W / patch] contiguous: the decoder's output convolution's
  // output before the depth-to-space; pixel (c, t, h, w) is channel
  // c patch^2 + (h % patch) patch + w % patch at (t, h / patch, w / patch).
  const void* pixels = nullptr;
  int patch = 1;  // 1, 2 or 4, dividing H and W
  // The latent thumbnail added to the first `shortcut` channels: element (b, c, t, h, w) at
  // latents + b s0 + c s1 + t s2 + h s3 + w s4 (any strides: a chunk is a narrowed view).
  const void* latents = nullptr;
  int64_t latent_strides[5] = {0, 0, 0, 0, 0};
  int shortcut = 0;          // 0..3
  bool first_chunk = true;   // pixel frame t reads latent frame (t + 3) / 4, else t / 4
  uint8_t* bytes = nullptr;  // [B, total_frames, H, W, 3]; frames [frame_offset, + T) written
  int batch = 0, frames = 0, height = 0, width = 0;  // output pixels; B * T * H within int32
  int total_frames = 0, frame_offset = 0;
};

// One launch on `stream`: bytes = round(127.5 (clamp(depth-to-space(pixels) + thumbnail,
// -1, 1) + 1)), the sum rounded to the pixels' dtype and the rest in float32, as LibTorch's
// ops would.
// Returns the launch error (cudaErrorInvalidValue for empty or inconsistent shapes).
cudaError_t LaunchDecoderOutputBytes(const DecoderOutputBytesArgs& args, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_DECODER_OUTPUT_BYTES_KERNELS_H_

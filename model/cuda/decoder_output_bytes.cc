#include "model/cuda/decoder_output_bytes.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <limits>

#include "model/cuda/decoder_output_bytes_kernels.h"
#include "model/cuda/kernel_dtype_torch.h"

namespace vidserve {

bool DecoderOutputBytesCudaSupported(const torch::Tensor& pixels, const torch::Tensor& thumbnail,
                                     bool first_chunk, const torch::Tensor& bytes,
                                     int64_t frame_offset, int64_t patch) {
  if ((patch != 1 && patch != 2 && patch != 4) || !pixels.defined() || !bytes.defined() ||
      !pixels.is_cuda() || pixels.dim() != 5 || pixels.size(1) != 3 * patch * patch ||
      !pixels.is_contiguous() || !IsKernelDtype(pixels.scalar_type()) || pixels.numel() == 0) {
    return false;
  }
  // The output pixels' dims: the bytes' and the thumbnail's relate to these.
  const int64_t b = pixels.size(0), t = pixels.size(2), h = pixels.size(3) * patch,
                w = pixels.size(4) * patch;
  if (bytes.device() != pixels.device() || bytes.scalar_type() != torch::kByte ||
      !bytes.is_contiguous() || bytes.dim() != 5 || bytes.size(0) != b || bytes.size(2) != h ||
      bytes.size(3) != w || bytes.size(4) != 3 || frame_offset < 0 ||
      frame_offset + t > bytes.size(1) ||
      b * bytes.size(1) * h > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  if (!thumbnail.defined()) return true;
  const bool frames_match = first_chunk ? t == 1 + 4 * (thumbnail.size(2) - 1)
                                        : t == 4 * thumbnail.size(2);
  return thumbnail.device() == pixels.device() &&
         thumbnail.scalar_type() == pixels.scalar_type() && thumbnail.dim() == 5 &&
         thumbnail.size(0) == b && thumbnail.size(1) <= 3 && frames_match &&
         thumbnail.size(3) * 8 == h &&
         thumbnail.size(4) * 8 == w;
}

void DecoderOutputBytesCuda(const torch::Tensor& pixels, const torch::Tensor& thumbnail,
                            bool first_chunk, torch::Tensor& bytes, int64_t frame_offset,
                            int64_t patch) {
  TORCH_CHECK(
      DecoderOutputBytesCudaSupported(pixels, thumbnail, first_chunk, bytes, frame_offset, patch),
      "decoder output bytes (CUDA): unsupported inputs; got pixels ", pixels.sizes(), " ",
      pixels.scalar_type(), ", bytes ", bytes.sizes(), ", frame offset ", frame_offset,
      ", patch ", patch);
  c10::cuda::CUDAGuard guard(pixels.device());
  cuda_kernels::DecoderOutputBytesArgs args;
  args.dtype = ToKernelDtype(pixels.scalar_type());
  args.pixels = pixels.data_ptr();
  args.patch = static_cast<int>(patch);
  if (thumbnail.defined() && thumbnail.size(1) > 0) {
    args.latents = thumbnail.data_ptr();
    for (int i = 0; i < 5; ++i) args.latent_strides[i] = thumbnail.stride(i);
    args.shortcut = static_cast<int>(thumbnail.size(1));
  }
  args.first_chunk = first_chunk;
  args.bytes = bytes.data_ptr<uint8_t>();
  args.batch = static_cast<int>(pixels.size(0));
  args.frames = static_cast<int>(pixels.size(2));
  args.height = static_cast<int>(pixels.size(3) * patch);
  args.width = static_cast<int>(pixels.size(4) * patch);
  args.total_frames = static_cast<int>(bytes.size(1));
  args.frame_offset = static_cast<int>(frame_offset);
  const cudaError_t err =
      cuda_kernels::LaunchDecoderOutputBytes(args, c10::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err == cudaSuccess,
              "decoder output bytes (CUDA): launch failed: ", cudaGetErrorString(err));
}

}  // namespace vidserve

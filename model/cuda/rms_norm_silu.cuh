// The channel RMS norm + SiLU arithmetic, shared by every kernel that applies the norm: its
// own kernel (channel_rms_norm_silu.cu) and the narrow convolutions that apply it to their
// output (narrow_conv3d.cu, narrow_conv3d_tf32.cu). One definition, so that a norm folded into
// a convolution computes what the norm's kernel would from the same values. nvcc only.
#ifndef VIDSERVE_MODEL_CUDA_RMS_NORM_SILU_CUH_
#define VIDSERVE_MODEL_CUDA_RMS_NORM_SILU_CUH_

namespace vidserve {
namespace cuda_kernels {

// A voxel's scale from the sum of its channels' squares.
__device__ __forceinline__ float RmsNormScale(float sum_sq, float inv_channels, float eps) {
  return rsqrtf(sum_sq * inv_channels + eps);
}

// One channel's value v, normalised by the voxel's scale, shifted and passed through SiLU.
__device__ __forceinline__ float ScaleShiftSilu(float v, float scale, float weight, float bias) {
  const float y = v * scale * weight + bias;
  return y / (1.0f + expf(-y));
}

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_RMS_NORM_SILU_CUH_

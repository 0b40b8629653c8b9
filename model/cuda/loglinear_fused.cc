#include "model/cuda/loglinear_fused.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/kernel_dtype_torch.h"
#include "model/cuda/loglinear_fused_kernels.h"
#include "model/mixers/loglinear_attention.h"

namespace vidserve {

bool LogLinearFusedSupported(const torch::Tensor& q, const torch::Tensor& k,
                             const torch::Tensor& v, const torch::Tensor& lambda) {
  if (!q.defined() || !k.defined() || !v.defined() || !lambda.defined()) return false;
  if (!q.is_cuda() || k.device() != q.device() || v.device() != q.device() ||
      lambda.device() != q.device()) {
    return false;
  }
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || lambda.dim() != 4) return false;
  if (!IsKernelDtype(q.scalar_type()) || k.scalar_type() != q.scalar_type() ||
      v.scalar_type() != q.scalar_type() || !IsKernelDtype(lambda.scalar_type())) {
    return false;
  }
  return q.size(3) <= cuda_kernels::kLogLinearMaxHeadDim &&
         v.size(3) <= cuda_kernels::kLogLinearMaxHeadDim && q.size(3) > 0 && v.size(3) > 0 &&
         FenwickNumLevels(q.size(2)) <= cuda_kernels::kLogLinearMaxLevels &&
         q.size(0) * q.size(1) <= 65535;
}

torch::Tensor LogLinearAttentionFusedCuda(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda,
                                          int64_t chunk_size) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 &&
                  v.sizes().slice(0, 3) == q.sizes().slice(0, 3),
              "loglinear fused: q, k must be [B, H, T, Dk] and v [B, H, T, Dv]; got q ",
              q.sizes(), ", k ", k.sizes(), ", v ", v.sizes());
  TORCH_CHECK(lambda.dim() == 4 && lambda.sizes().slice(0, 3) == q.sizes().slice(0, 3),
              "loglinear fused: lambda must be [B, H, T, L]; got ", lambda.sizes());
  TORCH_CHECK(lambda.size(3) >= FenwickNumLevels(q.size(2)), "loglinear fused: T = ", q.size(2),
              " needs ", FenwickNumLevels(q.size(2)), " levels, lambda has ", lambda.size(3));
  TORCH_CHECK(chunk_size > 0 && (chunk_size & (chunk_size - 1)) == 0,
              "loglinear fused: chunk_size must be a power of two, got ", chunk_size);
  TORCH_CHECK(LogLinearFusedSupported(q, k, v, lambda),
              "loglinear fused: unsupported inputs (need CUDA tensors on one device, one dtype "
              "in float32/float16/bfloat16, Dk, Dv <= 64, B*H <= 65535); got ",
              q.scalar_type(), " ", q.sizes(), " on ", q.device());
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2);
  const int64_t dk = q.size(3), dv = v.size(3);
  auto out = torch::empty({b, h, t, dv}, q.options());
  if (b * h == 0 || t == 0) return out;

  c10::cuda::CUDAGuard guard(q.device());
  auto qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  auto lc = lambda.to(q.scalar_type()).contiguous();
  const int64_t num_chunks = (t + cuda_kernels::kLogLinearChunk - 1) / cuda_kernels::kLogLinearChunk;
  const int64_t blocks = num_chunks > 1 ? cuda_kernels::LogLinearNumBlocks(num_chunks) : 0;
  const int64_t state_elems = cuda_kernels::kLogLinearMaxHeadDim * cuda_kernels::kLogLinearMaxHeadDim;
  torch::Tensor states, counters;
  if (blocks > 0) {
    states = torch::empty({b * h * blocks * state_elems}, q.options().dtype(torch::kFloat));
    counters = torch::zeros({b * h * blocks}, q.options().dtype(torch::kInt));
  }
  const cudaError_t err = cuda_kernels::LaunchLogLinearFused(
      ToKernelDtype(q.scalar_type()), qc.data_ptr(), kc.data_ptr(), vc.data_ptr(), lc.data_ptr(),
      out.data_ptr(), blocks > 0 ? states.data_ptr<float>() : nullptr,
      blocks > 0 ? counters.data_ptr<int>() : nullptr, b * h, t, static_cast<int>(dk),
      static_cast<int>(dv), static_cast<int>(lc.size(3)), static_cast<int>(FenwickNumLevels(t)),
      c10::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err == cudaSuccess, "loglinear fused: CUDA launch failed: ", cudaGetErrorString(err));
  return out;
}

}  // namespace vidserve

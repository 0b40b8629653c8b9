#include "train/bf16_autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace vidserve::train {
namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool CudaAutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
at::ScalarType CudaAutocastDtype() { return at::autocast::get_autocast_dtype(at::kCUDA); }
void SetCudaAutocast(bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
}
#else
bool CudaAutocastEnabled() { return at::autocast::is_enabled(); }
at::ScalarType CudaAutocastDtype() { return at::autocast::get_autocast_gpu_dtype(); }
void SetCudaAutocast(bool enabled, at::ScalarType dtype) {
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

}  // namespace

Bf16Autocast::Bf16Autocast(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_enabled_ = CudaAutocastEnabled();
  previous_dtype_ = static_cast<int>(CudaAutocastDtype());
  SetCudaAutocast(true, at::kBFloat16);
  at::autocast::increment_nesting();
}

Bf16Autocast::~Bf16Autocast() {
  if (!enabled_) return;
  // Autocast caches bf16 copies of the weights for the duration of one forward; drop them
  // when the outermost region ends, or they would go stale after the optimiser step.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetCudaAutocast(previous_enabled_, static_cast<at::ScalarType>(previous_dtype_));
}

}  // namespace vidserve::train

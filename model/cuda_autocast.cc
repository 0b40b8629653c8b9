#include "model/cuda_autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace vidserve {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool CudaAutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
int CudaAutocastDtype() { return static_cast<int>(at::autocast::get_autocast_dtype(at::kCUDA)); }
void SetCudaAutocast(bool enabled, int dtype) {
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, static_cast<at::ScalarType>(dtype));
}
#else
bool CudaAutocastEnabled() { return at::autocast::is_enabled(); }
int CudaAutocastDtype() { return static_cast<int>(at::autocast::get_autocast_gpu_dtype()); }
void SetCudaAutocast(bool enabled, int dtype) {
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(static_cast<at::ScalarType>(dtype));
}
#endif

CudaAutocastOff::CudaAutocastOff() : was_enabled_(CudaAutocastEnabled()) {
  if (was_enabled_) SetCudaAutocast(false, CudaAutocastDtype());
}

CudaAutocastOff::~CudaAutocastOff() {
  if (was_enabled_) SetCudaAutocast(true, CudaAutocastDtype());
}

}  // namespace vidserve

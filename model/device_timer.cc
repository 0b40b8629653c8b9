#include "model/device_timer.h"

#ifdef VIDSERVE_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#endif

namespace vidserve {

#ifdef VIDSERVE_HAVE_CUDA
struct DeviceTimer::CudaEvents {
  // cudaEventDefault: LibTorch's CUDAEvent disables timing unless asked.
  at::cuda::CUDAEvent start{cudaEventDefault};
  at::cuda::CUDAEvent stop{cudaEventDefault};
};
#else
struct DeviceTimer::CudaEvents {};
#endif

DeviceTimer::DeviceTimer(const torch::Device& device) {
#ifdef VIDSERVE_HAVE_CUDA
  if (device.is_cuda()) cuda_ = std::make_unique<CudaEvents>();
#else
  (void)device;
#endif
}

DeviceTimer::~DeviceTimer() = default;

void DeviceTimer::Start() {
#ifdef VIDSERVE_HAVE_CUDA
  if (cuda_ != nullptr) {
    cuda_->start.record(at::cuda::getCurrentCUDAStream());
    return;
  }
#endif
  start_ = std::chrono::steady_clock::now();
}

void DeviceTimer::Stop() {
#ifdef VIDSERVE_HAVE_CUDA
  if (cuda_ != nullptr) {
    cuda_->stop.record(at::cuda::getCurrentCUDAStream());
    return;
  }
#endif
  stop_ = std::chrono::steady_clock::now();
}

double DeviceTimer::ElapsedSeconds() {
#ifdef VIDSERVE_HAVE_CUDA
  if (cuda_ != nullptr) {
    cuda_->stop.synchronize();
    return cuda_->start.elapsed_time(cuda_->stop) / 1e3;  // elapsed_time is in ms
  }
#endif
  return std::chrono::duration<double>(stop_ - start_).count();
}

}  // namespace vidserve

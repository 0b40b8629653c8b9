#include "model/cuda/dependent_launch.h"

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace vidserve {
namespace cuda_kernels {
namespace {

bool AllowedByEnvironment() {
  const char* value = std::getenv("VIDSERVE_CUDA_DEPENDENT_LAUNCH");
  return value == nullptr || std::strcmp(value, "0") != 0;
}

std::atomic<bool>& Allowed() {
  static std::atomic<bool> allowed{AllowedByEnvironment()};
  return allowed;
}

// Per device ordinal: 0 not yet asked, 1 unsupported, 2 supported.
constexpr int kMaxDevices = 64;
std::atomic<int> device_support[kMaxDevices];

bool DeviceSupportsDependentLaunch() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) {
    cudaGetLastError();  // leave no sticky error for LibTorch's launch checks
    return false;
  }
  int known = device_support[device].load(std::memory_order_relaxed);
  if (known == 0) {
    int major = 0;
    const bool ok =
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess;
    if (!ok) cudaGetLastError();
    known = ok && major >= 9 ? 2 : 1;
    device_support[device].store(known, std::memory_order_relaxed);
  }
  return known == 2;
}

}  // namespace

bool DependentLaunchEnabled() {
  return Allowed().load(std::memory_order_relaxed) && DeviceSupportsDependentLaunch();
}

void SetDependentLaunchAllowed(bool allowed) {
  Allowed().store(allowed, std::memory_order_relaxed);
}

}  // namespace cuda_kernels
}  // namespace vidserve

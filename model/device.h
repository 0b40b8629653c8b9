// Device selection and accelerator memory statistics, with the LibTorch 1.13 (CPU) / 2.x
// (CUDA) differences kept in device.cc. Internal to model/.
//
// Thread-safety: all functions are thread-safe.
#ifndef VIDSERVE_MODEL_DEVICE_H_
#define VIDSERVE_MODEL_DEVICE_H_

#include <torch/torch.h>

#include <string>

#include "absl/status/statusor.h"

namespace vidserve {

// "auto" (cuda:0 if available, else cpu) | "cpu" | "cuda" | "cuda:N". Errors name the
// value and why it cannot be used (e.g. CUDA not available in this build).
absl::StatusOr<torch::Device> ResolveDevice(const std::string& spec);

struct DeviceMemoryBytes {
  int64_t allocated = 0;
  int64_t reserved = 0;
  int64_t peak = 0;
  int64_t total = 0;
};
// Caching-allocator statistics of a CUDA device; zeros on CPU or CPU-only builds.
DeviceMemoryBytes QueryDeviceMemory(const torch::Device& device);
// Restarts the peak statistic of a CUDA device (no-op on CPU), so a benchmark can attribute
// a peak to one operation.
void ResetPeakDeviceMemory(const torch::Device& device);

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_DEVICE_H_

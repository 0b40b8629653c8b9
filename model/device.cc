#include "model/device.h"

#include <torch/version.h>

#ifdef VIDSERVE_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/video_model.h"

namespace vidserve {

bool CudaAvailable() { return torch::cuda::is_available(); }

std::string TorchVersion() { return TORCH_VERSION; }

absl::StatusOr<torch::Device> ResolveDevice(const std::string& spec) {
  if (spec == "auto")
    return CudaAvailable() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!CudaAvailable()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device: '", spec, "' requested but CUDA is not available (LibTorch ", TorchVersion(),
          ", CUDA devices: ", torch::cuda::device_count(), "); use device \"cpu\" or \"auto\""));
    }
    int index = 0;
    if (spec != "cuda" && !absl::SimpleAtoi(spec.substr(5), &index)) {
      return absl::InvalidArgumentError(absl::StrCat("device: bad CUDA index in '", spec, "'"));
    }
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (index < 0 || index >= count) {
      return absl::InvalidArgumentError(
          absl::StrCat("device: '", spec, "' out of range; ", count, " CUDA device(s) visible"));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device: unknown value '", spec, "'; allowed: auto, cpu, cuda, cuda:N"));
}

DeviceMemoryBytes QueryDeviceMemory(const torch::Device& device) {
  DeviceMemoryBytes bytes;
#ifdef VIDSERVE_HAVE_CUDA
  if (!device.is_cuda()) return bytes;
  namespace alloc = c10::cuda::CUDACachingAllocator;
  const auto stats = alloc::getDeviceStats(device.index());
  // StatType::AGGREGATE is 0 in every LibTorch; the enum moved namespaces in 2.x.
  constexpr size_t kAggregate = 0;
  bytes.allocated = stats.allocated_bytes[kAggregate].current;
  bytes.reserved = stats.reserved_bytes[kAggregate].current;
  bytes.peak = stats.allocated_bytes[kAggregate].peak;
  size_t free_bytes = 0, total_bytes = 0;
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(device.index());
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
    bytes.total = static_cast<int64_t>(total_bytes);
  cudaSetDevice(previous);
#else
  (void)device;
#endif
  return bytes;
}

void ResetPeakDeviceMemory(const torch::Device& device) {
#ifdef VIDSERVE_HAVE_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

}  // namespace vidserve

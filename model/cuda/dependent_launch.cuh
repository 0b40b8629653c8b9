// Programmatic dependent launch (sm_90+), device side and the launch helper; nvcc only.
// See dependent_launch.h for why. A kernel launched with LaunchDependent must call
// WaitForPrecedingKernels() before it reads anything an earlier kernel may have written
// (activations; not its own weights) and before it writes global memory an earlier kernel
// may still read (the allocator reuses buffers). Before that it may stage its weights.
// Below sm_90 both device calls compile to nothing and the attribute is not set.
#ifndef VIDSERVE_MODEL_CUDA_DEPENDENT_LAUNCH_CUH_
#define VIDSERVE_MODEL_CUDA_DEPENDENT_LAUNCH_CUH_

#include <cuda_runtime.h>

#include "model/cuda/dependent_launch.h"

namespace vidserve {
namespace cuda_kernels {

// Blocks until every kernel this one depends on has completed and its writes are visible.
__device__ __forceinline__ void WaitForPrecedingKernels() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Lets the next kernel on the stream be scheduled once every block of this one has called
// it (or exited). It only starts the next kernel's prologue early: that kernel's own
// WaitForPrecedingKernels() still waits for this one to complete.
// vidserve's kernels call it right after their WaitForPrecedingKernels(), not as they start:
// a kernel that signalled at its start let the next one launch while it was itself still
// waiting, so a chain of them could become resident at once, every block waiting, holding
// SM slots the running kernel's blocks need. After the wait only one kernel runs ahead. On
// the H200, in one session, the thin decoder was 0.7-1.6% faster this way at the three sizes
// measured, about the spread between runs (BENCHMARKS.md section 3).
__device__ __forceinline__ void LetDependentKernelsStart() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::);
#endif
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...), as a programmatic dependent of
// the stream's previous work when DependentLaunchEnabled(). Returns the launch error.
template <typename... Params, typename... Args>
cudaError_t LaunchDependent(void (*kernel)(Params...), dim3 grid, dim3 block,
                            size_t shared_bytes, cudaStream_t stream, Args... args) {
  cudaLaunchAttribute attribute;
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = DependentLaunchEnabled() ? 1 : 0;
  const cudaError_t err = cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
  const cudaError_t last = cudaGetLastError();  // clears it, as <<<>>> + cudaGetLastError did
  return err != cudaSuccess ? err : last;
}

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_DEPENDENT_LAUNCH_CUH_

// Programmatic dependent launch (sm_90+), host side: whether vidserve's kernels are launched
// so that they may start while the kernel before them on the stream is still finishing.
// No torch or CUDA headers here.
//
// Why: a small clip's decode on a GPU is a chain of kernels of a few microseconds each
// (the thin decoder at 17x64x64 x 1: about 40 kernels in 0.24 ms), so the gap between one
// kernel's last block and the next kernel's first, and each kernel's prologue (staging its
// weights in shared memory), are a large share of the time. A kernel launched as a
// programmatic dependent is scheduled as soon as every block of the kernel before it has
// signalled (model/cuda/dependent_launch.cuh: each vidserve kernel signals right after its
// own wait), runs what does not depend on that kernel's output, then waits for it to
// complete and its writes to be visible. CUDA graphs keep these edges when they capture the
// stream.
#ifndef VIDSERVE_MODEL_CUDA_DEPENDENT_LAUNCH_H_
#define VIDSERVE_MODEL_CUDA_DEPENDENT_LAUNCH_H_

namespace vidserve {
namespace cuda_kernels {

// Whether launches on the current device use it: the device is sm_90 or newer and it is
// allowed (by default unless the environment sets VIDSERVE_CUDA_DEPENDENT_LAUNCH=0).
// Thread-safe.
bool DependentLaunchEnabled();

// Allows or forbids it for the whole process from now on (tests and benchmarks compare
// both). Thread-safe; kernels already launched or captured keep how they were launched.
void SetDependentLaunchAllowed(bool allowed);

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_DEPENDENT_LAUNCH_H_

// What vidserve's kernels assume about the GPU when they size their grids. No torch headers,
// so nvcc and the host compiler both take it.
#ifndef VIDSERVE_MODEL_CUDA_LAUNCH_HEURISTICS_H_
#define VIDSERVE_MODEL_CUDA_LAUNCH_HEURISTICS_H_

#include <cstdint>

namespace vidserve {
namespace cuda_kernels {

// SMs of an H100 or H200, the GPUs the grid-size thresholds were measured on. A kernel that
// sees fewer than a few blocks per SM (small frames, few voxels) splits its work further.
constexpr int64_t kTunedSmCount = 132;

}  // namespace cuda_kernels
}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_LAUNCH_HEURISTICS_H_

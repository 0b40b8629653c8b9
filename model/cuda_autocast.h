// CUDA autocast state (thread-local in LibTorch), behind one API for LibTorch 1.13 and 2.x,
// and a guard that switches it off for a scope. Internal to model/ and train/; the dtype is
// an int (at::ScalarType) to keep ATen out of this header.
//
// Thread-safety: the state is per thread; each guard acts on the thread that made it.
#ifndef VIDSERVE_MODEL_CUDA_AUTOCAST_H_
#define VIDSERVE_MODEL_CUDA_AUTOCAST_H_

namespace vidserve {

bool CudaAutocastEnabled();
int CudaAutocastDtype();  // at::ScalarType
void SetCudaAutocast(bool enabled, int dtype);

// CUDA autocast off until the end of the scope, then back to what it was (a no-op when it
// was off): for computations that must stay float32 inside an autocast region.
class CudaAutocastOff {
 public:
  CudaAutocastOff();
  ~CudaAutocastOff();
  CudaAutocastOff(const CudaAutocastOff&) = delete;
  CudaAutocastOff& operator=(const CudaAutocastOff&) = delete;

 private:
  bool was_enabled_;
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_AUTOCAST_H_

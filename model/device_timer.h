// DeviceTimer: how long the device took for the work enqueued between Start() and Stop(),
// e.g. a decoder's CUDA-graph replay without the host work around it (vidserve-bench vae's
// network-only columns). Internal to model/.
//
// On CUDA it records two timing events on the current stream (no synchronization until
// ElapsedSeconds); on CPU, where LibTorch runs the work synchronously, it is wall time.
//
// Thread-safety: NOT thread-safe; one timer belongs to the thread that enqueues the work.
#ifndef VIDSERVE_MODEL_DEVICE_TIMER_H_
#define VIDSERVE_MODEL_DEVICE_TIMER_H_

#include <torch/torch.h>

#include <chrono>
#include <memory>

namespace vidserve {

class DeviceTimer {
 public:
  explicit DeviceTimer(const torch::Device& device);
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  void Start();
  void Stop();
  // Seconds from Start() to Stop(); on CUDA it waits for the work before Stop() to finish.
  double ElapsedSeconds();

 private:
  struct CudaEvents;  // defined only in CUDA builds
  std::unique_ptr<CudaEvents> cuda_;
  std::chrono::steady_clock::time_point start_, stop_;
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_DEVICE_TIMER_H_

// RAII switch for bf16 autocast on CUDA (matmuls and convolutions run in bf16 with fp32
// master weights; reductions stay fp32), hiding the LibTorch 1.13 / 2.x API difference.
// A no-op when disabled, so CPU training runs in fp32 through the same code.
//
// Thread-safety: autocast state is thread-local; use one guard per thread.
#ifndef VIDSERVE_TRAIN_BF16_AUTOCAST_H_
#define VIDSERVE_TRAIN_BF16_AUTOCAST_H_

namespace vidserve::train {

class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool enabled);
  ~Bf16Autocast();
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool enabled_;
  bool previous_enabled_ = false;
  int previous_dtype_ = 0;  // at::ScalarType, kept out of this header
};

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_BF16_AUTOCAST_H_

#include "train/bf16_autocast.h"

#include <ATen/autocast_mode.h>

#include "model/cuda_autocast.h"

namespace vidserve::train {

Bf16Autocast::Bf16Autocast(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_enabled_ = CudaAutocastEnabled();
  previous_dtype_ = CudaAutocastDtype();
  SetCudaAutocast(true, static_cast<int>(at::kBFloat16));
  at::autocast::increment_nesting();
}

Bf16Autocast::~Bf16Autocast() {
  if (!enabled_) return;
  // Autocast caches bf16 copies of the weights for the duration of one forward; drop them
  // when the outermost region ends, or they would go stale after the optimiser step.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetCudaAutocast(previous_enabled_, previous_dtype_);
}

}  // namespace vidserve::train

// SKIP_WITHOUT_CUDA(): skips a test, with the reason, where vidserve's CUDA kernels cannot
// run: a CPU-only build (no VIDSERVE_HAVE_CUDA), or a CUDA build on a machine without a GPU.
#ifndef VIDSERVE_TESTS_UNIT_CUDA_TEST_SKIP_H_
#define VIDSERVE_TESTS_UNIT_CUDA_TEST_SKIP_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#ifdef VIDSERVE_HAVE_CUDA
#define SKIP_WITHOUT_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"
#else
#define SKIP_WITHOUT_CUDA() GTEST_SKIP() << "CPU-only build: no vidserve CUDA kernels"
#endif

#endif  // VIDSERVE_TESTS_UNIT_CUDA_TEST_SKIP_H_

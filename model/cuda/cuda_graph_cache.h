// CudaGraphCache: runs a device-only tensor function through CUDA graphs, captured once per
// (kind, input shape) and replayed after. A small decode is a few hundred kernels of a few
// microseconds each, so on an H100 its time is mostly launch overhead (8 x 17x64x64: 4.2 ms
// eager for the full decoder, 3.0 ms for the ~4x cheaper thin one); a replay launches the
// whole graph at once.
//
// Every graph captures into one memory pool shared by all of them: a replay's output must be
// consumed (copied) before the next Run, which the single worker thread that owns the cache
// does anyway, and the pool then holds about one decode's activations instead of one per
// graph.
//
// Compiled only in CUDA builds (model/cuda/). Thread-safety: NOT thread-safe; owned by
// VideoModel's worker thread, like the model itself.
#ifndef VIDSERVE_MODEL_CUDA_CUDA_GRAPH_CACHE_H_
#define VIDSERVE_MODEL_CUDA_CUDA_GRAPH_CACHE_H_

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vidserve {

// Ends a capture that an exception interrupted, so that the stream, the caching allocator
// and the CUDA error state are usable again. Never throws.
void AbandonCudaGraphCapture(at::cuda::CUDAGraph& graph, const c10::cuda::CUDAStream& stream);

struct CudaGraphCacheOptions {
  // Graphs kept (least recently used evicted); each distinct (kind, input shape) is one.
  int max_graphs = 8;
};

class CudaGraphCache {
 public:
  using Function = std::function<torch::Tensor(const torch::Tensor&)>;

  explicit CudaGraphCache(const CudaGraphCacheOptions& options = {});
  ~CudaGraphCache();
  CudaGraphCache(const CudaGraphCache&) = delete;
  CudaGraphCache& operator=(const CudaGraphCache&) = delete;

  // fn(input) for a CUDA `input`. `fn` must enqueue device work only (no host sync, no
  // host-side branching on tensor values) and depend on nothing but `input`'s values and
  // shape, so that one capture per (kind, shape) is valid for every later call. The first
  // call for a key runs fn eagerly, which is its answer (and puts lazy library state and
  // cuDNN autotuning outside the capture), then captures it; later calls replay. A
  // replay's result is the graph's static output: valid until the next Run. A key whose
  // capture fails runs eagerly from then on.
  torch::Tensor Run(const std::string& kind, const torch::Tensor& input, const Function& fn);

 private:
  struct Entry;
  using Key = std::pair<std::string, std::vector<int64_t>>;

  CudaGraphCacheOptions options_;
  std::list<std::unique_ptr<Entry>> entries_;  // most recently used first
  std::vector<Key> uncapturable_;
  at::cuda::MempoolId_t pool_;  // the graphs' shared memory pool
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_CUDA_CUDA_GRAPH_CACHE_H_

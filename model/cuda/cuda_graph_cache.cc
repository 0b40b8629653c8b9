#include "model/cuda/cuda_graph_cache.h"

#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <algorithm>

#include "common/logging.h"

namespace vidserve {

struct CudaGraphCache::Entry {
  Key key;
  torch::Tensor input;  // static input, outside the graph's pool
  // Declared before `output`, so the output (a block of the pool) is freed before the graph
  // drops its hold on the pool.
  at::cuda::CUDAGraph graph;
  torch::Tensor output;  // static output, rewritten by each replay
};

// graph.capture_end() ends the allocator's routing into the pool (and throws for an
// invalidated capture); a stream still capturing after that is ended directly.
void AbandonCudaGraphCapture(at::cuda::CUDAGraph& graph, const c10::cuda::CUDAStream& stream) {
  try {
    graph.capture_end();
  } catch (const std::exception&) {
  }
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream.stream(), &status) == cudaSuccess &&
      status != cudaStreamCaptureStatusNone) {
    cudaGraph_t partial = nullptr;
    if (cudaStreamEndCapture(stream.stream(), &partial) == cudaSuccess && partial != nullptr) {
      cudaGraphDestroy(partial);
    }
  }
  (void)cudaGetLastError();  // capture errors are not sticky; clear the last-error slot
}

CudaGraphCache::CudaGraphCache(const CudaGraphCacheOptions& options)
    : options_(options), pool_(at::cuda::graph_pool_handle()) {}

CudaGraphCache::~CudaGraphCache() = default;

torch::Tensor CudaGraphCache::Run(const std::string& kind, const torch::Tensor& input,
                                  const Function& fn) {
  Key key{kind, input.sizes().vec()};
  if (options_.max_graphs <= 0 || !input.is_cuda() ||
      std::find(uncapturable_.begin(), uncapturable_.end(), key) != uncapturable_.end()) {
    return fn(input);
  }
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if ((*it)->key != key) continue;
    entries_.splice(entries_.begin(), entries_, it);  // most recently used first
    Entry& entry = *entries_.front();
    entry.input.copy_(input);
    entry.graph.replay();
    return entry.output;
  }

  // First sight of the key: an eager run on the capture stream creates per-stream library
  // handles and runs cuDNN's autotuning outside the capture, and answers this call; then
  // the capture, which later calls replay.
  auto entry = std::make_unique<Entry>();
  entry->key = key;
  entry->input = input.clone();
  const c10::cuda::CUDAStream stream =
      c10::cuda::getStreamFromPool(/*isHighPriority=*/false, input.device().index());
  torch::Tensor eager;
  {
    // The side stream must see `input` finished on the caller's stream and vice versa.
    const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(input.device().index());
    caller.synchronize();
    c10::cuda::CUDAStreamGuard guard(stream);
    eager = fn(entry->input);
    stream.synchronize();
    try {
      entry->graph.capture_begin(pool_);
      try {
        entry->output = fn(entry->input);
        entry->graph.capture_end();
      } catch (...) {
        entry->output = torch::Tensor();
        AbandonCudaGraphCapture(entry->graph, stream);
        throw;
      }
    } catch (const std::exception& e) {
      const std::string what = e.what();
      LOG_WARNING << "CUDA graph capture of " << kind << " failed; running it eagerly: "
                  << what.substr(0, what.find('\n'));
      uncapturable_.push_back(key);
      return eager;
    }
  }
  entries_.push_front(std::move(entry));
  while (static_cast<int>(entries_.size()) > options_.max_graphs) entries_.pop_back();
  return eager;
}

}  // namespace vidserve

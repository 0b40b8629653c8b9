#include "model/mixers/loglinear_attention.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/loglinear_fused.h"
#endif

namespace vidserve {
namespace {

int64_t BitLength(int64_t x) {
  int64_t bits = 0;
  for (; x > 0; x >>= 1) ++bits;
  return bits;
}

void CheckInputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                 const torch::Tensor& lambda) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 &&
                  v.sizes().slice(0, 3) == q.sizes().slice(0, 3),
              "loglinear: q, k must be [B, H, T, Dk] and v [B, H, T, Dv]; got q ", q.sizes(),
              ", k ", k.sizes(), ", v ", v.sizes());
  TORCH_CHECK(lambda.dim() == 4 && lambda.sizes().slice(0, 3) == q.sizes().slice(0, 3),
              "loglinear: lambda must be [B, H, T, L]; got ", lambda.sizes(), " for q ", q.sizes());
  TORCH_CHECK(lambda.size(3) >= FenwickNumLevels(q.size(2)), "loglinear: T = ", q.size(2),
              " needs ", FenwickNumLevels(q.size(2)), " levels, lambda has ", lambda.size(3));
}

// Zero-pads dim 2 (time) at the end.
torch::Tensor PadTime(const torch::Tensor& x, int64_t pad) {
  if (pad == 0) return x;
  return torch::constant_pad_nd(x, {0, 0, 0, pad});
}

}  // namespace

int64_t FenwickLevel(int64_t t, int64_t s) { return BitLength(t ^ s); }

int64_t FenwickNumLevels(int64_t seq_len) { return seq_len <= 1 ? 1 : BitLength(seq_len - 1) + 1; }

torch::Tensor FenwickLevelMatrix(int64_t n, const torch::Device& device) {
  auto index = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto x = torch::bitwise_xor(index.unsqueeze(1), index.unsqueeze(0));
  // bit_length(x) = number of powers of two <= x.
  auto level = torch::zeros_like(x);
  for (int64_t power = 1; power < 2 * n; power <<= 1) level += x.ge(power).to(torch::kLong);
  return level;
}

namespace {

// The [chunk, chunk] Fenwick levels inside a chunk, with future pairs (s > t) pointing at
// index log2(chunk) + 1, where the caller puts a zero weight: one gather then yields the
// masked weights. Cached per (chunk, device) because building it costs ~25 tiny kernels,
// which dominate short sequences on a GPU. Thread-safe.
torch::Tensor IntraChunkLevelIndex(int64_t chunk, const torch::Device& device) {
  static auto* mu = new std::mutex;
  static auto* cache = new std::map<std::pair<int64_t, std::string>, torch::Tensor>;
  std::lock_guard<std::mutex> lock(*mu);
  const auto key = std::make_pair(chunk, device.str());
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  // A normal tensor even when first asked for under InferenceMode: gather saves its index
  // for backward, which an inference tensor may not be.
  c10::InferenceMode normal_tensors(false);
  auto future = torch::ones({chunk, chunk}, torch::kBool).triu(1);
  auto index = FenwickLevelMatrix(chunk, torch::kCPU).masked_fill(future, BitLength(chunk - 1) + 1);
  return cache->emplace(key, index.to(device)).first->second;
}

}  // namespace

torch::Tensor LogLinearAttentionReference(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda) {
  CheckInputs(q, k, v, lambda);
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2);
  auto levels = FenwickLevelMatrix(t, q.device());
  auto weights = torch::gather(lambda, -1, levels.expand({b, h, t, t}));
  auto future = torch::ones({t, t}, q.options().dtype(torch::kBool)).triu(1);
  weights = weights.masked_fill(future, 0.0);
  return torch::matmul(torch::matmul(q, k.transpose(-2, -1)) * weights, v);
}

bool LogLinearFusedEnabled() {
#ifdef VIDSERVE_HAVE_CUDA
  static const bool enabled = [] {
    const char* value = std::getenv("VIDSERVE_LOGLINEAR_FUSED");
    return value == nullptr || std::strcmp(value, "0") != 0;
  }();
  return enabled;
#else
  return false;
#endif
}

torch::Tensor LogLinearAttentionChunkwise(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda,
                                          int64_t chunk_size) {
#ifdef VIDSERVE_HAVE_CUDA
  if (q.is_cuda() && LogLinearFusedEnabled()) {
    const bool needs_grad = at::GradMode::is_enabled() &&
                            (q.requires_grad() || k.requires_grad() || v.requires_grad() ||
                             lambda.requires_grad());
    if (!needs_grad) {
      CheckInputs(q, k, v, lambda);
      if (LogLinearFusedSupported(q, k, v, lambda)) {
        return LogLinearAttentionFusedCuda(q, k, v, lambda, chunk_size);
      }
    }
  }
#endif
  return LogLinearAttentionChunkwiseTorch(q, k, v, lambda, chunk_size);
}

torch::Tensor LogLinearAttentionChunkwiseTorch(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v,
                                               const torch::Tensor& lambda, int64_t chunk_size) {
  CheckInputs(q, k, v, lambda);
  TORCH_CHECK(chunk_size > 0 && (chunk_size & (chunk_size - 1)) == 0,
              "loglinear: chunk_size must be a power of two, got ", chunk_size);
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2);
  const int64_t dk = q.size(3), dv = v.size(3), num_lambda = lambda.size(3);
  const int64_t chunk = std::min(chunk_size, int64_t{1} << (FenwickNumLevels(t) - 1));
  const int64_t chunk_levels = BitLength(chunk - 1) + 1;  // levels 0 .. log2(chunk)
  const int64_t num_chunks = (t + chunk - 1) / chunk;
  const int64_t pad = num_chunks * chunk - t;

  // Chunk start positions are multiples of `chunk`, so inside a chunk l(t, s) depends only
  // on the offsets of t and s: one [chunk, chunk] level pattern serves every chunk.
  auto qc = PadTime(q, pad).contiguous().view({b, h, num_chunks, chunk, dk});
  auto kc = PadTime(k, pad).contiguous().view({b, h, num_chunks, chunk, dk});
  auto vc = PadTime(v, pad).contiguous().view({b, h, num_chunks, chunk, dv});
  auto lc = PadTime(lambda, pad).contiguous().view({b, h, num_chunks, chunk, num_lambda});

  auto weights = torch::gather(
      torch::constant_pad_nd(lc.narrow(-1, 0, chunk_levels), {0, 1}), -1,
      IntraChunkLevelIndex(chunk, q.device()).expand({b, h, num_chunks, chunk, chunk}));
  auto out = torch::matmul(torch::matmul(qc, kc.transpose(-2, -1)) * weights, vc);

  if (num_chunks > 1) {
    // Between chunks i > j the level is log2(chunk) + bit_length(i XOR j). At chunk level
    // `lvl` the keys of query chunk i are the chunks [g*2^lvl, g*2^lvl + 2^(lvl-1)) with
    // g = i >> lvl, present iff bit lvl-1 of i is set: in groups of 2^lvl chunks, the upper
    // half reads the sum of k v^T over the lower half. `blocks[j]` holds that sum over
    // chunks [j * 2^(lvl-1), (j+1) * 2^(lvl-1)), built by pairwise sums level by level.
    auto blocks = torch::matmul(kc.transpose(-2, -1), vc);  // [B, H, chunks, Dk, Dv]
    for (int64_t lvl = 1, half = 1; half < num_chunks; ++lvl, half <<= 1) {
      const int64_t group = 2 * half;
      const int64_t level = chunk_levels - 1 + lvl;
      const int64_t full_groups = num_chunks / group;
      if (full_groups > 0) {
        const int64_t span = full_groups * group;
        auto q_upper =
            qc.narrow(2, 0, span).reshape({b, h, full_groups, 2, half * chunk, dk}).select(3, 1);
        auto w_upper = lc.narrow(2, 0, span)
                           .select(-1, level)
                           .reshape({b, h, full_groups, 2, half * chunk})
                           .select(3, 1);
        auto state =
            blocks.narrow(2, 0, 2 * full_groups).view({b, h, full_groups, 2, dk, dv}).select(3, 0);
        out.narrow(2, 0, span)
            .view({b, h, full_groups, 2, half * chunk, dv})
            .select(3, 1)
            .addcmul_(torch::matmul(q_upper, state), w_upper.unsqueeze(-1));
      }
      // A last, incomplete group whose upper half is partly present.
      const int64_t rest = num_chunks - full_groups * group;
      if (rest > half) {
        const int64_t start = full_groups * group + half, count = rest - half;
        auto q_upper = qc.narrow(2, start, count).reshape({b, h, count * chunk, dk});
        auto w_upper = lc.narrow(2, start, count).select(-1, level).reshape({b, h, count * chunk});
        auto state = blocks.select(2, 2 * full_groups);
        out.narrow(2, start, count)
            .view({b, h, count * chunk, dv})
            .addcmul_(torch::matmul(q_upper, state), w_upper.unsqueeze(-1));
      }
      if (2 * half >= num_chunks) break;
      if (blocks.size(2) % 2 != 0) blocks = torch::constant_pad_nd(blocks, {0, 0, 0, 0, 0, 1});
      blocks = blocks.view({b, h, blocks.size(2) / 2, 2, dk, dv}).sum(3);
    }
  }
  return out.view({b, h, num_chunks * chunk, dv}).narrow(2, 0, t);
}

torch::Tensor LogLinearAttentionStep(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& lambda,
                                     LogLinearState* state) {
  const int64_t position = state->position;
  TORCH_CHECK(lambda.size(-1) >= BitLength(position) + 1, "loglinear: position ", position,
              " needs ", BitLength(position) + 1, " levels, lambda has ", lambda.size(-1));
  auto out = lambda.select(-1, 0).unsqueeze(-1) * (q * k).sum(-1, /*keepdim=*/true) * v;
  auto q_row = q.unsqueeze(-2);
  for (size_t i = 0; i < state->buckets.size(); ++i) {
    if (!state->buckets[i].defined()) continue;
    out = out + lambda.select(-1, static_cast<int64_t>(i) + 1).unsqueeze(-1) *
                    torch::matmul(q_row, state->buckets[i]).squeeze(-2);
  }
  // position -> position + 1 clears the trailing one bits and sets the next bit: their
  // buckets and this token form the bucket of that bit.
  auto merged = k.unsqueeze(-1) * v.unsqueeze(-2);
  int64_t trailing_ones = 0;
  while ((position >> trailing_ones) & 1) {
    merged = merged + state->buckets[trailing_ones];
    state->buckets[trailing_ones] = torch::Tensor();
    ++trailing_ones;
  }
  if (state->buckets.size() <= static_cast<size_t>(trailing_ones)) {
    state->buckets.resize(trailing_ones + 1);
  }
  state->buckets[trailing_ones] = merged;
  state->position = position + 1;
  return out;
}

torch::Tensor LogLinearAttentionRecurrent(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& lambda) {
  CheckInputs(q, k, v, lambda);
  LogLinearState state;
  std::vector<torch::Tensor> outputs;
  outputs.reserve(q.size(2));
  for (int64_t i = 0; i < q.size(2); ++i) {
    outputs.push_back(LogLinearAttentionStep(q.select(2, i), k.select(2, i), v.select(2, i),
                                             lambda.select(2, i), &state));
  }
  return torch::stack(outputs, 2);
}

LogLinearAttention::LogLinearAttention(const TokenMixerOptions& options) : options_(options) {
  TORCH_CHECK(options.loglinear_max_levels >= 1 && options.loglinear_max_levels <= 62,
              "loglinear: max_levels must be in [1, 62], got ", options.loglinear_max_levels);
  qkv_ = register_module("qkv", torch::nn::Linear(options.dim, 3 * options.dim));
  level_weights_ = register_module(
      "level_weights",
      torch::nn::Linear(options.dim, options.num_heads * options.loglinear_max_levels));
  out_ = register_module("out", torch::nn::Linear(options.dim, options.dim));
}

torch::Tensor LogLinearAttention::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), h = options_.num_heads;
  const int64_t dh = options_.dim / h, levels = options_.loglinear_max_levels;
  TORCH_CHECK(FenwickNumLevels(n) <= levels, "loglinear: ", n, " tokens need ", FenwickNumLevels(n),
              " levels, loglinear_max_levels is ", levels);
  namespace F = torch::nn::functional;
  auto qkv = qkv_->forward(x).view({b, n, 3, h, dh}).permute({2, 0, 3, 1, 4});
  auto q = F::normalize(qkv[0], F::NormalizeFuncOptions().dim(-1));
  auto k = F::normalize(qkv[1], F::NormalizeFuncOptions().dim(-1));
  auto v = qkv[2];
  auto lambda =
      F::softplus(level_weights_->forward(x)).view({b, n, h, levels}).permute({0, 2, 1, 3});
  auto o = LogLinearAttentionChunkwise(q, k, v, lambda, options_.loglinear_chunk_size);
  if (options_.bidirectional) {
    o = o + LogLinearAttentionChunkwise(q.flip({2}), k.flip({2}), v.flip({2}), lambda.flip({2}),
                                        options_.loglinear_chunk_size)
                .flip({2});
  }
  o = o * torch::rsqrt(o.pow(2).mean(-1, /*keepdim=*/true) + 1e-6);
  return out_->forward(o.transpose(1, 2).reshape({b, n, options_.dim}));
}

}  // namespace vidserve

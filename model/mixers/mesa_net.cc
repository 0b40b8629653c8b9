#include "model/mixers/mesa_net.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace vidserve {
namespace {

// Guards CG's divisions once the residual reaches zero (e.g. padded tokens with q = 0):
// the numerator is then zero too, so the step is zero rather than 0/0.
constexpr double kTiny = 1e-30;

void CheckInputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                 const torch::Tensor& log_forget, const torch::Tensor& input_gate,
                 const torch::Tensor& lambda) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 &&
                  v.sizes().slice(0, 3) == q.sizes().slice(0, 3),
              "mesa: q, k must be [B, H, T, Dk] and v [B, H, T, Dv]; got q ", q.sizes(), ", k ",
              k.sizes(), ", v ", v.sizes());
  TORCH_CHECK(
      log_forget.sizes() == q.sizes().slice(0, 3) && input_gate.sizes() == q.sizes().slice(0, 3),
      "mesa: gates must be [B, H, T]; got log_forget ", log_forget.sizes(), ", input_gate ",
      input_gate.sizes(), " for q ", q.sizes());
  TORCH_CHECK(lambda.dim() == 2 && lambda.size(0) == q.size(1) && lambda.size(1) == q.size(3),
              "mesa: lambda must be [H, Dk] = [", q.size(1), ", ", q.size(3), "]; got ",
              lambda.sizes());
}

// decay[..., t, s] = exp(sum_{s < r <= t} log g_r) * b_s for s <= t, else 0.
torch::Tensor PairDecay(const torch::Tensor& cum_log_forget, const torch::Tensor& input_gate) {
  const int64_t n = cum_log_forget.size(-1);
  auto diff = cum_log_forget.unsqueeze(-1) - cum_log_forget.unsqueeze(-2);
  auto future = torch::ones({n, n}, cum_log_forget.options().dtype(torch::kBool)).triu(1);
  return diff.masked_fill(future, -std::numeric_limits<double>::infinity()).exp() *
         input_gate.unsqueeze(-2);
}

torch::Tensor PadTime(const torch::Tensor& x, int64_t pad, int64_t trailing_dims) {
  if (pad == 0) return x;
  std::vector<int64_t> padding(2 * trailing_dims, 0);
  padding.push_back(0);
  padding.push_back(pad);
  return torch::constant_pad_nd(x, padding);
}

// Exclusive decayed prefix sums over chunks: start[i] = sum_{j < i} exp(sum_{j < m < i}
// log_decay[m]) increment[j], for increment [B, H, n, X] and log_decay [B, H, n]. A blocked
// scan: blocks of ~sqrt(n) chunks are summed with one masked-decay matmul each, and only
// the ~sqrt(n) block carries are sequential, so long sequences launch few small ops.
torch::Tensor ChunkStartStates(const torch::Tensor& increment, const torch::Tensor& log_decay) {
  const int64_t b = increment.size(0), h = increment.size(1), n = increment.size(2);
  const int64_t width = increment.size(3);
  const int64_t block =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n)))));
  const int64_t groups = (n + block - 1) / block;
  const int64_t pad = groups * block - n;
  auto inc = PadTime(increment, pad, 1).view({b, h, groups, block, width});
  auto cum = PadTime(log_decay, pad, 0).view({b, h, groups, block}).cumsum(-1);
  auto before = cum - PadTime(log_decay, pad, 0).view({b, h, groups, block});  // exclusive
  auto not_earlier = torch::ones({block, block}, cum.options().dtype(torch::kBool)).triu(0);
  auto within = (before.unsqueeze(-1) - cum.unsqueeze(-2))
                    .masked_fill(not_earlier, -std::numeric_limits<double>::infinity())
                    .exp();
  auto local = torch::matmul(within, inc);  // [B, H, groups, block, X]
  auto to_end = (cum.narrow(-1, block - 1, 1) - cum).exp().unsqueeze(-2);
  auto totals = torch::matmul(to_end, inc).squeeze(-2);  // [B, H, groups, X]
  auto block_decay = cum.select(-1, block - 1).exp().unsqueeze(-1);
  std::vector<torch::Tensor> carries = {torch::zeros({b, h, width}, inc.options())};
  for (int64_t g = 0; g + 1 < groups; ++g) {
    carries.push_back(block_decay.select(2, g) * carries.back() + totals.select(2, g));
  }
  auto carry = torch::stack(carries, 2).unsqueeze(-2);  // [B, H, groups, 1, X]
  auto start = local + before.exp().unsqueeze(-1) * carry;
  return start.view({b, h, groups * block, width}).narrow(2, 0, n);
}

}  // namespace

torch::Tensor ConjugateGradientSolve(
    const std::function<torch::Tensor(const torch::Tensor&)>& apply, const torch::Tensor& rhs,
    const torch::Tensor& diagonal, int64_t steps) {
  auto x = torch::zeros_like(rhs);
  auto r = rhs;
  auto z = r / diagonal;
  auto p = z;
  auto rz = (r * z).sum(-1, /*keepdim=*/true);
  for (int64_t i = 0; i < steps; ++i) {
    auto ap = apply(p);
    auto alpha = rz / (p * ap).sum(-1, /*keepdim=*/true).clamp_min(kTiny);
    x = x + alpha * p;
    if (i + 1 == steps) break;
    r = r - alpha * ap;
    z = r / diagonal;
    auto rz_next = (r * z).sum(-1, /*keepdim=*/true);
    p = z + (rz_next / rz.clamp_min(kTiny)) * p;
    rz = rz_next;
  }
  return x;
}

torch::Tensor MesaNetReference(const torch::Tensor& q_in, const torch::Tensor& k_in,
                               const torch::Tensor& v_in, const torch::Tensor& log_forget,
                               const torch::Tensor& input_gate, const torch::Tensor& lambda,
                               int64_t cg_steps) {
  CheckInputs(q_in, k_in, v_in, log_forget, input_gate, lambda);
  auto q = q_in.to(torch::kFloat), k = k_in.to(torch::kFloat), v = v_in.to(torch::kFloat);
  const int64_t h = q.size(1), dk = q.size(3);
  auto decay = PairDecay(log_forget.to(torch::kFloat).cumsum(-1), input_gate.to(torch::kFloat));
  // H_t = sum_s decay[t, s] k_s k_s^T for every t: [B, H, T, Dk, Dk].
  auto hkk =
      torch::matmul((decay.unsqueeze(-1) * k.unsqueeze(2)).transpose(-2, -1), k.unsqueeze(2));
  auto system = hkk + torch::diag_embed(lambda.to(torch::kFloat)).view({1, h, 1, dk, dk});
  torch::Tensor x;
  if (cg_steps <= 0) {
    x = torch::linalg_solve(system, q.unsqueeze(-1)).squeeze(-1);
  } else {
    auto apply = [&system](const torch::Tensor& p) {
      return torch::matmul(system, p.unsqueeze(-1)).squeeze(-1);
    };
    x = ConjugateGradientSolve(apply, q, system.diagonal(0, -2, -1), cg_steps);
  }
  // o_t = G_t x_t = sum_s decay[t, s] v_s (k_s . x_t).
  return torch::matmul(torch::matmul(x, k.transpose(-2, -1)) * decay, v).to(q_in.scalar_type());
}

torch::Tensor MesaNetChunkwise(const torch::Tensor& q_in, const torch::Tensor& k_in,
                               const torch::Tensor& v_in, const torch::Tensor& log_forget,
                               const torch::Tensor& input_gate, const torch::Tensor& lambda,
                               int64_t chunk_size, int64_t cg_steps) {
  CheckInputs(q_in, k_in, v_in, log_forget, input_gate, lambda);
  TORCH_CHECK(chunk_size > 0, "mesa: chunk_size must be positive, got ", chunk_size);
  const int64_t b = q_in.size(0), h = q_in.size(1), t = q_in.size(2);
  const int64_t dk = q_in.size(3), dv = v_in.size(3);
  const int64_t chunk = std::min(chunk_size, t);
  const int64_t num_chunks = (t + chunk - 1) / chunk;
  const int64_t pad = num_chunks * chunk - t;
  // Padded tokens (q = k = v = 0, g = 1, b = 0) come last, so no real token sees them.
  auto as_chunks = [&](const torch::Tensor& x, int64_t trailing) {
    std::vector<int64_t> shape = {b, h, num_chunks, chunk};
    if (trailing > 0) shape.push_back(x.size(-1));
    return PadTime(x.to(torch::kFloat), pad, trailing).contiguous().view(shape);
  };
  auto q = as_chunks(q_in, 1), k = as_chunks(k_in, 1), v = as_chunks(v_in, 1);
  auto cum = as_chunks(log_forget, 0).cumsum(-1);  // [B, H, chunks, C]
  auto beta = as_chunks(input_gate, 0);

  auto decay = PairDecay(cum, beta);                // [B, H, chunks, C, C]
  auto decay_from_start = cum.exp().unsqueeze(-1);  // [B, H, chunks, C, 1]
  auto k_to_end = k * ((cum.narrow(-1, chunk - 1, 1) - cum).exp() * beta).unsqueeze(-1);
  auto kk_increment = torch::matmul(k_to_end.transpose(-2, -1), k);  // [B, H, chunks, Dk, Dk]
  auto kv_increment = torch::matmul(k_to_end.transpose(-2, -1), v);  // [B, H, chunks, Dk, Dv]

  // States at the start of each chunk, kk and kv scanned together.
  auto starts =
      ChunkStartStates(torch::cat({kk_increment.flatten(-2), kv_increment.flatten(-2)}, -1),
                       cum.select(-1, chunk - 1));
  auto kk_start = starts.narrow(-1, 0, dk * dk).view({b, h, num_chunks, dk, dk});
  auto kv_start = starts.narrow(-1, dk * dk, dk * dv).view({b, h, num_chunks, dk, dv});

  auto lam = lambda.to(torch::kFloat).view({1, h, 1, 1, dk});
  auto k_t = k.transpose(-2, -1);
  // (H_t + Lambda) p_t for every token t of every chunk (H_t is symmetric).
  auto apply = [&](const torch::Tensor& p) {
    return decay_from_start * torch::matmul(p, kk_start) +
           torch::matmul(torch::matmul(p, k_t) * decay, k) + lam * p;
  };
  auto diagonal = decay_from_start * kk_start.diagonal(0, -2, -1).unsqueeze(-2) +
                  torch::matmul(decay, k * k) + lam;
  auto x = ConjugateGradientSolve(apply, q, diagonal, cg_steps);
  auto out = decay_from_start * torch::matmul(x, kv_start) +
             torch::matmul(torch::matmul(x, k_t) * decay, v);
  return out.view({b, h, num_chunks * chunk, dv}).narrow(2, 0, t).to(q_in.scalar_type());
}

torch::Tensor MesaNetStep(const torch::Tensor& q_in, const torch::Tensor& k_in,
                          const torch::Tensor& v_in, const torch::Tensor& log_forget,
                          const torch::Tensor& input_gate, const torch::Tensor& lambda,
                          int64_t cg_steps, MesaNetState* state) {
  auto q = q_in.to(torch::kFloat), k = k_in.to(torch::kFloat), v = v_in.to(torch::kFloat);
  auto forget = log_forget.to(torch::kFloat).exp().unsqueeze(-1).unsqueeze(-1);
  auto k_in_gate = k * input_gate.to(torch::kFloat).unsqueeze(-1);
  auto kk_new = k_in_gate.unsqueeze(-1) * k.unsqueeze(-2);
  auto kv_new = k_in_gate.unsqueeze(-1) * v.unsqueeze(-2);
  state->kk = state->kk.defined() ? forget * state->kk + kk_new : kk_new;
  state->kv = state->kv.defined() ? forget * state->kv + kv_new : kv_new;
  auto lam = lambda.to(torch::kFloat).unsqueeze(0);  // [1, H, Dk]
  const auto& kk = state->kk;
  auto apply = [&kk, &lam](const torch::Tensor& p) {
    return torch::matmul(p.unsqueeze(-2), kk).squeeze(-2) + lam * p;
  };
  auto x = ConjugateGradientSolve(apply, q, kk.diagonal(0, -2, -1) + lam, cg_steps);
  return torch::matmul(x.unsqueeze(-2), state->kv).squeeze(-2).to(q_in.scalar_type());
}

torch::Tensor MesaNetRecurrent(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& log_forget,
                               const torch::Tensor& input_gate, const torch::Tensor& lambda,
                               int64_t cg_steps) {
  CheckInputs(q, k, v, log_forget, input_gate, lambda);
  MesaNetState state;
  std::vector<torch::Tensor> outputs;
  outputs.reserve(q.size(2));
  for (int64_t i = 0; i < q.size(2); ++i) {
    outputs.push_back(MesaNetStep(q.select(2, i), k.select(2, i), v.select(2, i),
                                  log_forget.select(2, i), input_gate.select(2, i), lambda,
                                  cg_steps, &state));
  }
  return torch::stack(outputs, 2);
}

MesaNet::MesaNet(const TokenMixerOptions& options) : options_(options) {
  TORCH_CHECK(options.mesa_cg_steps > 0, "mesa: cg_steps must be positive, got ",
              options.mesa_cg_steps);
  const int64_t h = options.num_heads;
  qkv_ = register_module("qkv", torch::nn::Linear(options.dim, 3 * options.dim));
  gates_ = register_module("gates", torch::nn::Linear(options.dim, 2 * h));
  lambda_raw_ = register_parameter("lambda_raw", torch::zeros({h, options.dim / h}));
  out_ = register_module("out", torch::nn::Linear(options.dim, options.dim));
}

torch::Tensor MesaNet::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), h = options_.num_heads;
  const int64_t dh = options_.dim / h;
  namespace F = torch::nn::functional;
  auto qkv = qkv_->forward(x).view({b, n, 3, h, dh}).permute({2, 0, 3, 1, 4});
  auto q = F::normalize(qkv[0], F::NormalizeFuncOptions().dim(-1));
  auto k = F::normalize(qkv[1], F::NormalizeFuncOptions().dim(-1));
  auto v = qkv[2];
  auto gates = gates_->forward(x).view({b, n, 2, h}).permute({2, 0, 3, 1});  // [2, B, H, N]
  auto log_forget = torch::log_sigmoid(gates[0]);
  auto input_gate = torch::sigmoid(gates[1]);
  auto lambda = F::softplus(lambda_raw_);
  const int64_t chunk = options_.mesa_chunk_size, steps = options_.mesa_cg_steps;
  auto o = MesaNetChunkwise(q, k, v, log_forget, input_gate, lambda, chunk, steps);
  if (options_.bidirectional) {
    o = o + MesaNetChunkwise(q.flip({2}), k.flip({2}), v.flip({2}), log_forget.flip({2}),
                             input_gate.flip({2}), lambda, chunk, steps)
                .flip({2});
  }
  return out_->forward(o.transpose(1, 2).reshape({b, n, options_.dim}));
}

}  // namespace vidserve

// MesaNet (von Oswald et al., 2025, arXiv 2506.05233): a linear-cost mixer whose output
// is the optimal in-context linear regression of values on keys,
//     G_t = g_t G_{t-1} + b_t v_t k_t^T,   H_t = g_t H_{t-1} + b_t k_t k_t^T,
//     o_t = G_t (H_t + Lambda)^{-1} q_t,
// with forget gate g_t and input gate b_t in (0, 1) and Lambda a positive diagonal. The
// solve is a fixed number of Jacobi-preconditioned conjugate-gradient steps from x = 0,
// identical in every form, so the forms agree to rounding.
//
// Inputs: q, k [B, H, T, Dk], v [B, H, T, Dv], log_forget = log g [B, H, T] (<= 0),
// input_gate = b [B, H, T], lambda [H, Dk] (> 0). All forms are causal and compute in fp32
// (the output takes q's dtype): CG in bf16 does not converge usefully.
//   - MesaNetReference: H_t materialised for every t (O(T^2) and O(T Dk^2) memory), solved
//     exactly (cg_steps <= 0, torch::linalg_solve) or by CG; tests and debugging;
//   - MesaNetChunkwise: chunk-start states carried across chunks, the CG of all tokens of
//     all chunks run together as batched matmuls;
//   - MesaNetStep: one token with an O(Dk^2 + Dk Dv) state (streaming).
#ifndef VIDSERVE_MODEL_MIXERS_MESA_NET_H_
#define VIDSERVE_MODEL_MIXERS_MESA_NET_H_

#include <functional>

#include "model/mixers/token_mixer.h"

namespace vidserve {

// Solves A x = rhs for symmetric positive definite A, batched over the leading dims (vectors
// in the last dim), by `steps` Jacobi-preconditioned CG steps from x = 0. `apply` maps p to
// A p; `diagonal` is A's diagonal (the preconditioner), shaped like rhs. Differentiable.
torch::Tensor ConjugateGradientSolve(
    const std::function<torch::Tensor(const torch::Tensor&)>& apply, const torch::Tensor& rhs,
    const torch::Tensor& diagonal, int64_t steps);

torch::Tensor MesaNetReference(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& log_forget,
                               const torch::Tensor& input_gate, const torch::Tensor& lambda,
                               int64_t cg_steps);

torch::Tensor MesaNetChunkwise(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& log_forget,
                               const torch::Tensor& input_gate, const torch::Tensor& lambda,
                               int64_t chunk_size, int64_t cg_steps);

// Streaming state after the tokens seen so far; undefined tensors mean zero (no token yet).
struct MesaNetState {
  torch::Tensor kk;  // H: sum of decayed b k k^T, [B, H, Dk, Dk]
  torch::Tensor kv;  // G^T: sum of decayed b k v^T, [B, H, Dk, Dv]
};

// One token: q, k [B, H, Dk], v [B, H, Dv], log_forget and input_gate [B, H] -> [B, H, Dv].
torch::Tensor MesaNetStep(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& log_forget, const torch::Tensor& input_gate,
                          const torch::Tensor& lambda, int64_t cg_steps, MesaNetState* state);

// MesaNetStep over the whole sequence from an empty state.
torch::Tensor MesaNetRecurrent(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& log_forget,
                               const torch::Tensor& input_gate, const torch::Tensor& lambda,
                               int64_t cg_steps);

// The token mixer: q, k (L2-normalised per head), v, per-head gates g = sigmoid, b = sigmoid
// projected from x, and Lambda = softplus of a learned [H, Dh] parameter.
class MesaNet : public TokenMixer {
 public:
  explicit MesaNet(const TokenMixerOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;  // [B, N, D] -> [B, N, D]
  std::string kind() const override { return "mesa"; }

 private:
  TokenMixerOptions options_;
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear gates_{nullptr};
  torch::Tensor lambda_raw_;
  torch::nn::Linear out_{nullptr};
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_MIXERS_MESA_NET_H_

// Rectified flow (flow matching) with an Euler sampler and classifier-free guidance.
//   x_t = (1 - t) x0 + t eps,  t in [0, 1] (t = 1: pure noise),  velocity v = eps - x0.
// Sampling integrates dx/dt = v from t = 1 to t = 0. Everything takes per-sample timesteps
// [B] so one batch can hold requests at different steps (continuous batching).
//
// Two options shape the sampler beyond the step count and guidance scale, both measured on
// held-out prompts (BENCHMARKS.md section 5):
//   - a guidance interval: steps that start outside [guidance_min_t, guidance_max_t] take
//     the conditional velocity alone, as in "Applying Guidance in a Limited Interval
//     Improves Sample and Distribution Quality in Diffusion Models" (Kynkaanniemi et al.,
//     2024);
//   - stochasticity e: a step from t to t' predicts x0 = x - t v and eps = x + (1 - t) v
//     and lands on (1 - t') x0 + t' (sqrt(1 - s^2) eps + s z) with fresh noise z and
//     s = min(1, e sqrt(1 - t'/t)); e = 0 is exactly the Euler step (a DDIM-style
//     stochastic sampler on the rectified-flow path).
//
// Thread-safety: immutable after construction; all methods are const and thread-safe.
#ifndef VIDSERVE_MODEL_FLOW_SAMPLER_H_
#define VIDSERVE_MODEL_FLOW_SAMPLER_H_

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "model/text_encoder.h"

namespace vidserve {

struct FlowSamplerOptions {
  // SD3-style shift s: t' = s t / (1 + (s - 1) t). s = 1 keeps steps uniform in t; s > 1
  // spends more of the steps at high noise.
  double timestep_shift = 1.0;
  // Classifier-free guidance only for steps starting at t in [min, max].
  double guidance_min_t = 0.0;
  double guidance_max_t = 1.0;
  double stochasticity = 0.0;  // 0 = deterministic Euler steps
};

class FlowSampler {
 public:
  // The denoiser as the sampler sees it: (x [B,...], t [B], text) -> velocity like x.
  using VelocityFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t,
                                                 const TextEmbedding& text)>;

  explicit FlowSampler(const FlowSamplerOptions& options = {});

  // steps + 1 decreasing timesteps from 1 to 0 (shift applied). REQUIRES: steps >= 1.
  std::vector<double> Timesteps(int64_t steps) const;

  // Training pair: the noisy point and its velocity target. t: [B].
  static torch::Tensor Interpolate(const torch::Tensor& x0, const torch::Tensor& eps,
                                   const torch::Tensor& t);
  static torch::Tensor VelocityTarget(const torch::Tensor& x0, const torch::Tensor& eps);

  // x + (t_next - t_cur) v, per sample. t_cur, t_next: [B].
  static torch::Tensor EulerStep(const torch::Tensor& x, const torch::Tensor& v,
                                 const torch::Tensor& t_cur, const torch::Tensor& t_next);

  // The guidance scale a step starting at t uses: `guidance` inside the guidance
  // interval (bounds inclusive, within 1e-9), 1 (no unconditional pass) outside it.
  double GuidanceAt(double t, double guidance) const;

  // Whether Step uses fresh noise (stochasticity > 0).
  bool stochastic() const { return options_.stochasticity > 0.0; }
  const FlowSamplerOptions& options() const { return options_; }

  // One step from t_cur to t_next ([B] each, t_cur > t_next >= 0): the Euler step, or with
  // stochasticity the re-noising step of the header comment, taking its fresh noise from
  // `noise` (like x; standard normal). REQUIRES: noise defined when stochastic().
  torch::Tensor Step(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t_cur,
                     const torch::Tensor& t_next, const torch::Tensor& noise) const;

  // The same with each row's own stochasticity (a batch of requests with different
  // settings): rows at 0 take exactly the Euler step and ignore their noise rows.
  // REQUIRES: noise defined when any stochasticity is > 0.
  static torch::Tensor StepPerSample(const torch::Tensor& x, const torch::Tensor& v,
                                     const torch::Tensor& t_cur, const torch::Tensor& t_next,
                                     const std::vector<double>& stochasticity,
                                     const torch::Tensor& noise);

  // Classifier-free guided velocity v_u + g (v_c - v_u), per sample. Rows with g == 1 need
  // no unconditional pass; the other rows' unconditional inputs are appended to the same
  // batch, so `velocity` is called exactly once with B + (#rows with g != 1) rows.
  // cond and uncond have B rows each.
  static torch::Tensor GuidedVelocity(const VelocityFn& velocity, const torch::Tensor& x,
                                      const torch::Tensor& t, const TextEmbedding& cond,
                                      const TextEmbedding& uncond,
                                      const std::vector<double>& guidance);

  // The whole loop for one batch that starts together (tools and tests; the server steps
  // through VideoModel::DenoiseStep instead). With stochasticity, the steps' fresh noise
  // comes from `step_noise` (a CPU generator, advanced), which must then be given.
  torch::Tensor Sample(const VelocityFn& velocity, const torch::Tensor& noise,
                       const TextEmbedding& cond, const TextEmbedding& uncond, int64_t steps,
                       const std::vector<double>& guidance,
                       at::Generator* step_noise = nullptr) const;

 private:
  FlowSamplerOptions options_;
};

}  // namespace vidserve

#endif  // VIDSERVE_MODEL_FLOW_SAMPLER_H_

#include "model/flow_sampler.h"

#include <algorithm>

namespace vidserve {
namespace {

// Reshapes a per-sample [B] tensor to broadcast against x [B, ...].
torch::Tensor PerSample(const torch::Tensor& t, const torch::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  return t.to(x.scalar_type()).view(shape);
}

}  // namespace

FlowSampler::FlowSampler(const FlowSamplerOptions& options) : options_(options) {}

std::vector<double> FlowSampler::Timesteps(int64_t steps) const {
  const double s = options_.timestep_shift;
  std::vector<double> ts(steps + 1);
  for (int64_t i = 0; i <= steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) / static_cast<double>(steps);
    ts[i] = s * t / (1.0 + (s - 1.0) * t);
  }
  ts[steps] = 0.0;
  return ts;
}

torch::Tensor FlowSampler::Interpolate(const torch::Tensor& x0, const torch::Tensor& eps,
                                       const torch::Tensor& t) {
  auto tb = PerSample(t, x0);
  return (1 - tb) * x0 + tb * eps;
}

torch::Tensor FlowSampler::VelocityTarget(const torch::Tensor& x0, const torch::Tensor& eps) {
  return eps - x0;
}

torch::Tensor FlowSampler::EulerStep(const torch::Tensor& x, const torch::Tensor& v,
                                     const torch::Tensor& t_cur, const torch::Tensor& t_next) {
  return x + PerSample(t_next - t_cur, x) * v;
}

double FlowSampler::GuidanceAt(double t, double guidance) const {
  // Bounds are inclusive up to rounding: 20 uniform steps put a step at
  // 1 - 16/20 = 0.19999999999999996, which an interval starting at 0.2 should hold.
  constexpr double kTolerance = 1e-9;
  const bool inside =
      t >= options_.guidance_min_t - kTolerance && t <= options_.guidance_max_t + kTolerance;
  return inside ? guidance : 1.0;
}

torch::Tensor FlowSampler::Step(const torch::Tensor& x, const torch::Tensor& v,
                                const torch::Tensor& t_cur, const torch::Tensor& t_next,
                                const torch::Tensor& noise) const {
  return StepPerSample(x, v, t_cur, t_next,
                       std::vector<double>(x.size(0), options_.stochasticity), noise);
}

torch::Tensor FlowSampler::StepPerSample(const torch::Tensor& x, const torch::Tensor& v,
                                         const torch::Tensor& t_cur, const torch::Tensor& t_next,
                                         const std::vector<double>& stochasticity,
                                         const torch::Tensor& noise) {
  TORCH_CHECK(static_cast<int64_t>(stochasticity.size()) == x.size(0),
              "FlowSampler::StepPerSample: one stochasticity per row");
  auto euler = EulerStep(x, v, t_cur, t_next);
  if (std::none_of(stochasticity.begin(), stochasticity.end(), [](double e) { return e > 0; })) {
    return euler;
  }
  TORCH_CHECK(noise.defined() && noise.sizes() == x.sizes(),
              "FlowSampler::Step: stochastic steps need noise shaped like x");
  auto e = PerSample(torch::tensor(stochasticity, torch::kDouble).to(x.device()), x);
  auto tc = PerSample(t_cur, x);
  auto tn = PerSample(t_next, x);
  auto x0 = x - tc * v;
  auto eps = x + (1 - tc) * v;
  // Share of fresh noise: grows with the step's relative length, 0 for a zero-length step.
  auto share = (e * torch::sqrt(torch::clamp(1 - tn / tc, 0.0))).clamp_max(1.0);
  auto renoised = (1 - tn) * x0 + tn * (torch::sqrt(1 - share * share) * eps + share * noise);
  return torch::where(e > 0, renoised, euler);
}

torch::Tensor FlowSampler::GuidedVelocity(const VelocityFn& velocity, const torch::Tensor& x,
                                          const torch::Tensor& t, const TextEmbedding& cond,
                                          const TextEmbedding& uncond,
                                          const std::vector<double>& guidance) {
  const int64_t b = x.size(0);
  std::vector<int64_t> guided;
  for (int64_t i = 0; i < b; ++i) {
    if (guidance[i] != 1.0) guided.push_back(i);
  }
  if (guided.empty()) return velocity(x, t, cond);

  auto index = torch::tensor(guided, torch::kLong).to(x.device());
  const int64_t k = static_cast<int64_t>(guided.size());
  auto v_all = velocity(torch::cat({x, x.index_select(0, index)}, 0),
                        torch::cat({t, t.index_select(0, index)}, 0),
                        ConcatTextEmbeddings({cond, SelectTextRows(uncond, index)}));
  auto v_cond = v_all.narrow(0, 0, b);
  auto v_uncond = v_all.narrow(0, b, k);
  std::vector<double> g;
  for (int64_t i : guided) g.push_back(guidance[i]);
  auto g_t = PerSample(torch::tensor(g, torch::kDouble).to(x.device()), v_uncond);
  auto v_cond_guided = v_cond.index_select(0, index);
  auto guided_v = v_uncond + g_t * (v_cond_guided - v_uncond);
  return v_cond.index_copy(0, index, guided_v);
}

torch::Tensor FlowSampler::Sample(const VelocityFn& velocity, const torch::Tensor& noise,
                                  const TextEmbedding& cond, const TextEmbedding& uncond,
                                  int64_t steps, const std::vector<double>& guidance,
                                  at::Generator* step_noise) const {
  TORCH_CHECK(!stochastic() || step_noise != nullptr,
              "FlowSampler::Sample: stochastic sampling needs a step_noise generator");
  const auto ts = Timesteps(steps);
  const int64_t b = noise.size(0);
  auto x = noise;
  for (int64_t i = 0; i < steps; ++i) {
    auto t_cur = torch::full({b}, ts[i], noise.options());
    auto t_next = torch::full({b}, ts[i + 1], noise.options());
    std::vector<double> step_guidance;
    for (double g : guidance) step_guidance.push_back(GuidanceAt(ts[i], g));
    auto v = GuidedVelocity(velocity, x, t_cur, cond, uncond, step_guidance);
    torch::Tensor z;
    if (stochastic()) {
      z = torch::randn(x.sizes(), *step_noise, torch::TensorOptions().dtype(x.scalar_type()))
              .to(x.device());
    }
    x = Step(x, v, t_cur, t_next, z);
  }
  return x;
}

}  // namespace vidserve

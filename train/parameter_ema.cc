#include "train/parameter_ema.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vidserve::train {

ParameterEma::ParameterEma(const NamedTensors& parameters, double decay)
    : decay_(decay), parameters_(parameters) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : parameters_) shadows_.emplace_back(name, p.detach().clone());
}

double ParameterEma::DecayAt(int64_t step) const {
  return std::min(decay_, static_cast<double>(1 + step) / static_cast<double>(10 + step));
}

void ParameterEma::Update(int64_t step) {
  torch::NoGradGuard no_grad;
  const double d = DecayAt(step);
  std::vector<torch::Tensor> shadows, params;
  for (size_t i = 0; i < shadows_.size(); ++i) {
    shadows.push_back(shadows_[i].second);
    params.push_back(parameters_[i].second.detach());
  }
  at::_foreach_mul_(shadows, d);
  at::_foreach_add_(shadows, params, 1.0 - d);
}

void ParameterEma::CopyToParameters() const {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < shadows_.size(); ++i) parameters_[i].second.copy_(shadows_[i].second);
}

absl::Status ParameterEma::LoadShadows(const std::map<std::string, torch::Tensor>& saved) {
  for (const auto& [name, shadow] : shadows_) {
    auto it = saved.find(name);
    if (it == saved.end()) {
      return absl::InvalidArgumentError(absl::StrCat("ema: missing tensor '", name, "'"));
    }
    if (it->second.sizes() != shadow.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat("ema: tensor '", name, "' has shape ",
                                                     c10::str(it->second.sizes()), ", expected ",
                                                     c10::str(shadow.sizes())));
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, shadow] : shadows_) shadow.copy_(saved.at(name));
  return absl::OkStatus();
}

}  // namespace vidserve::train

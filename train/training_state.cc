#include "train/training_state.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "model/checkpoint.h"
#include "model/status_macros.h"

namespace vidserve::train {
namespace {

namespace fs = std::filesystem;

absl::Status RenameOver(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("rename ", from, " -> ", to, " failed"));
  }
  return absl::OkStatus();
}

}  // namespace

TrainingState::TrainingState(const std::string& run_dir) : dir_(fs::path(run_dir) / "state") {}

bool TrainingState::exists() const { return fs::exists(dir_ / "trainer.json"); }

std::string TrainingState::network_path() const {
  return (dir_ / "network.safetensors").string();
}

absl::Status TrainingState::Save(VideoNetwork& network, const ModelConfig& config,
                                 const ParameterEma& ema, torch::optim::Optimizer& optimizer,
                                 const nlohmann::json& trainer) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(dir_.string(), ": ", ec.message()));
  // WriteSafetensors itself writes beside the target and renames.
  VIDSERVE_RETURN_IF_ERROR(SaveVideoNetwork(network_path(), network, config, CheckpointInfo{},
                                            CheckpointDtype::kFloat32));
  VIDSERVE_RETURN_IF_ERROR(WriteSafetensors((dir_ / "ema.safetensors").string(), ema.shadows(),
                                            {}, CheckpointDtype::kFloat32));
  const std::string optimizer_path = (dir_ / "optimizer.pt").string();
  try {
    torch::save(optimizer, optimizer_path + ".tmp");
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("saving optimizer state: ", e.what()));
  }
  VIDSERVE_RETURN_IF_ERROR(RenameOver(optimizer_path + ".tmp", optimizer_path));
  const std::string trainer_path = (dir_ / "trainer.json").string();
  {
    std::ofstream out(trainer_path + ".tmp");
    out << trainer.dump(2) << "\n";
    if (!out) return absl::UnavailableError(absl::StrCat(trainer_path, ".tmp: write failed"));
  }
  return RenameOver(trainer_path + ".tmp", trainer_path);
}

absl::StatusOr<nlohmann::json> TrainingState::LoadTrainer() const {
  std::ifstream in((dir_ / "trainer.json").string());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::DataLossError(absl::StrCat((dir_ / "trainer.json").string(), ": not valid JSON"));
  }
  return j;
}

absl::Status TrainingState::LoadOptimizerAndEma(torch::optim::Optimizer& optimizer,
                                                ParameterEma& ema,
                                                const torch::Device& device) const {
  try {
    torch::load(optimizer, (dir_ / "optimizer.pt").string(), device);
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat((dir_ / "optimizer.pt").string(), ": ", e.what()));
  }
  VIDSERVE_ASSIGN_OR_RETURN(CheckpointContents ema_file,
                            ReadSafetensors((dir_ / "ema.safetensors").string()));
  for (auto& [name, tensor] : ema_file.tensors) tensor = tensor.to(device);
  return ema.LoadShadows(ema_file.tensors);
}

}  // namespace vidserve::train

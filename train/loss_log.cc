#include "train/loss_log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vidserve::train {

std::string ProgressBar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(std::lround(fraction * width));
  return absl::StrFormat("%3d%% [%s%s]", static_cast<int>(std::lround(fraction * 100)),
                         std::string(filled, '#'), std::string(width - filled, '.'));
}

absl::StatusOr<LossLog> LossLog::Open(const std::string& csv_path, std::string stage,
                                      bool progress_bar) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(csv_path, ec) &&
                      std::filesystem::file_size(csv_path, ec) > 0;
  std::ofstream probe(csv_path, std::ios::app);
  if (!probe) return absl::UnavailableError(absl::StrCat(csv_path, ": cannot open for writing"));
  return LossLog(csv_path, std::move(stage), progress_bar, exists);
}

void LossLog::Write(const LossRow& row, int64_t total_steps, double eta_seconds) {
  std::ofstream out(path_, std::ios::app);
  if (!header_written_) {
    out << "step,lr,loss";
    for (const auto& [name, value] : row.terms) out << "," << name;
    out << ",clips_per_s,elapsed_s\n";
    header_written_ = true;
  }
  out << row.step << "," << absl::StrFormat("%.6g,%.6g", row.learning_rate, row.loss);
  for (const auto& [name, value] : row.terms) out << absl::StrFormat(",%.6g", value);
  out << absl::StrFormat(",%.1f,%.1f\n", row.clips_per_second, row.elapsed_seconds);
  out.flush();

  std::string terms;
  for (const auto& [name, value] : row.terms) absl::StrAppend(&terms, " ", name, " ", absl::StrFormat("%.4g", value));
  const std::string line = absl::StrFormat(
      "[%s] %s %lld/%lld loss %.4g%s | lr %.2e | %.1f clips/s | eta %dm%02ds", stage_,
      ProgressBar(static_cast<double>(row.step) / std::max<int64_t>(1, total_steps), 20),
      static_cast<long long>(row.step), static_cast<long long>(total_steps), row.loss, terms,
      row.learning_rate, row.clips_per_second, static_cast<int>(eta_seconds) / 60,
      static_cast<int>(eta_seconds) % 60);
  if (progress_bar_) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void LossLog::Finish() {
  if (line_open_) std::fprintf(stderr, "\n");
  line_open_ = false;
}

}  // namespace vidserve::train

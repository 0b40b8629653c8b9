// The training log: one CSV row per logged step (run_dir/losses.csv, appended across
// resumed runs, header written once) and a progress line on stderr with step, loss, rate
// and ETA. tools/train/plot_losses.py turns the CSV into the loss-curve PNG.
//
// Thread-safety: not thread-safe; owned by the training loop.
#ifndef VIDSERVE_TRAIN_LOSS_LOG_H_
#define VIDSERVE_TRAIN_LOSS_LOG_H_

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace vidserve::train {

struct LossRow {
  int64_t step = 0;  // optimiser steps done
  double learning_rate = 0;
  double loss = 0;
  std::vector<std::pair<std::string, double>> terms;
  double clips_per_second = 0;
  double elapsed_seconds = 0;  // this run's wall time
};

class LossLog {
 public:
  // Opens (appending) `csv_path`. `stage` prefixes the progress line.
  static absl::StatusOr<LossLog> Open(const std::string& csv_path, std::string stage,
                                      bool progress_bar);
  // Appends a row (flushed, so a killed run keeps its log) and redraws the progress line.
  void Write(const LossRow& row, int64_t total_steps, double eta_seconds);
  // Ends the progress line.
  void Finish();

 private:
  LossLog(std::string path, std::string stage, bool progress_bar, bool header_written)
      : path_(std::move(path)), stage_(std::move(stage)), progress_bar_(progress_bar),
        header_written_(header_written) {}
  std::string path_;
  std::string stage_;
  bool progress_bar_;
  bool header_written_;
  bool line_open_ = false;
};

// "  37% [#######.............] " for `fraction` in [0, 1].
std::string ProgressBar(double fraction, int width);

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_LOSS_LOG_H_

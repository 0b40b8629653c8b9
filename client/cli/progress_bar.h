// ProgressBar: reports a streaming Generate on stderr. On a terminal it redraws one line
// (bar, step, batch size, elapsed); otherwise (logs, CI, pipes) it prints one plain line
// per event so the output stays greppable. Not thread-safe; used by the reading thread.
#ifndef VIDSERVE_CLIENT_CLI_PROGRESS_BAR_H_
#define VIDSERVE_CLIENT_CLI_PROGRESS_BAR_H_

#include <chrono>
#include <cstdio>
#include <string>

namespace vidserve::cli {

class ProgressBar {
 public:
  struct Options {
    bool enabled = true;   // false: print nothing (--quiet)
    bool terminal = false; // redraw in place; default from isatty(stderr) via ForStderr()
    int width = 30;        // characters of the bar itself
  };
  static ProgressBar ForStderr(bool enabled);
  explicit ProgressBar(Options options);

  void Queued(unsigned position);
  void Step(unsigned step, unsigned total, unsigned batch_size);
  void Frames(unsigned received, unsigned total_or_zero);
  // Ends the redrawn line, if any, so later output starts on a fresh line.
  void Finish();

 private:
  double ElapsedSeconds() const;
  void Emit(const std::string& line);

  Options options_;
  std::chrono::steady_clock::time_point start_;
  bool line_open_ = false;
};

}  // namespace vidserve::cli

#endif  // VIDSERVE_CLIENT_CLI_PROGRESS_BAR_H_

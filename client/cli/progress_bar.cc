#include "client/cli/progress_bar.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vidserve::cli {

ProgressBar ProgressBar::ForStderr(bool enabled) {
  Options options;
  options.enabled = enabled;
  options.terminal = isatty(STDERR_FILENO) == 1;
  return ProgressBar(options);
}

ProgressBar::ProgressBar(Options options)
    : options_(options), start_(std::chrono::steady_clock::now()) {}

double ProgressBar::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::Emit(const std::string& line) {
  if (!options_.enabled) return;
  if (options_.terminal) {
    // \033[K clears what a longer previous line left behind.
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::Queued(unsigned position) {
  Emit(absl::StrFormat("queued: %u generation(s) ahead  elapsed %.1fs", position,
                       ElapsedSeconds()));
}

void ProgressBar::Step(unsigned step, unsigned total, unsigned batch_size) {
  if (options_.terminal) {
    const int filled = total == 0 ? 0 : static_cast<int>(options_.width * step / total);
    const std::string bar =
        std::string(filled, '#') + std::string(options_.width - filled, '.');
    Emit(absl::StrFormat("denoising [%s] step %u/%u  batch %u  elapsed %.1fs", bar, step, total,
                         batch_size, ElapsedSeconds()));
  } else {
    Emit(absl::StrFormat("progress: step %u/%u batch_size %u elapsed %.2fs", step, total,
                         batch_size, ElapsedSeconds()));
  }
}

void ProgressBar::Frames(unsigned received, unsigned total_or_zero) {
  const std::string of = total_or_zero ? absl::StrCat("/", total_or_zero) : "";
  Emit(absl::StrFormat("frames: %u%s received  elapsed %.1fs", received, of, ElapsedSeconds()));
}

void ProgressBar::Finish() {
  if (line_open_) {
    std::fprintf(stderr, "\n");
    line_open_ = false;
  }
}

}  // namespace vidserve::cli

#include "common/logging.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vidserve {
namespace {

LogSeverity SeverityFromEnv() {
  const char* env = std::getenv("VIDSERVE_LOG_LEVEL");
  if (env == nullptr) return LogSeverity::kInfo;
  const std::string level = absl::AsciiStrToLower(env);
  if (level == "debug") return LogSeverity::kDebug;
  if (level == "warning") return LogSeverity::kWarning;
  if (level == "error") return LogSeverity::kError;
  return LogSeverity::kInfo;
}

std::atomic<int>& MinSeverity() {
  static std::atomic<int> severity{static_cast<int>(SeverityFromEnv())};
  return severity;
}

const char* SeverityName(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug: return "DEBUG";
    case LogSeverity::kInfo: return "INFO ";
    case LogSeverity::kWarning: return "WARN ";
    case LogSeverity::kError: return "ERROR";
  }
  return "?????";
}

const char* BaseName(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

}  // namespace

void SetMinLogSeverity(LogSeverity severity) { MinSeverity().store(static_cast<int>(severity)); }
LogSeverity MinLogSeverity() { return static_cast<LogSeverity>(MinSeverity().load()); }

LogMessage::LogMessage(LogSeverity severity, const char* file, int line) : severity_(severity) {
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()) << ' '
          << SeverityName(severity) << ' ' << BaseName(file) << ':' << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  const std::string text = stream_.str();
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  (void)severity_;
}

}  // namespace vidserve

// Structured one-line logs to stderr: `2026-11-25T09:30:00.123Z INFO  server.cc:42] msg key=value`.
// Debian's Abseil (20220623) predates absl/log, so this is the project's small stand-in.
// Thread-safe: each message is assembled privately and written with one locked fwrite.
#ifndef VIDSERVE_COMMON_LOGGING_H_
#define VIDSERVE_COMMON_LOGGING_H_

#include <sstream>
#include <string>

namespace vidserve {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this severity are dropped (default kInfo; env VIDSERVE_LOG_LEVEL=debug|info|warning|error).
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();

class LogMessage {
 public:
  LogMessage(LogSeverity severity, const char* file, int line);
  ~LogMessage();  // writes the line
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

}  // namespace vidserve

#define VIDSERVE_LOG_IMPL(sev)                                          \
  if (::vidserve::LogSeverity::sev < ::vidserve::MinLogSeverity()) {    \
  } else                                                                \
    ::vidserve::LogMessage(::vidserve::LogSeverity::sev, __FILE__, __LINE__).stream()

// Usage: LOG_INFO << "listening" << " port=" << port;
#define LOG_DEBUG VIDSERVE_LOG_IMPL(kDebug)
#define LOG_INFO VIDSERVE_LOG_IMPL(kInfo)
#define LOG_WARNING VIDSERVE_LOG_IMPL(kWarning)
#define LOG_ERROR VIDSERVE_LOG_IMPL(kError)

#endif  // VIDSERVE_COMMON_LOGGING_H_

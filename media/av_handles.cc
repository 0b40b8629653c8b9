#include "media/av_handles.h"

#include "absl/strings/str_cat.h"

extern "C" {
#include <libavutil/error.h>
}

namespace vidserve::media {

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

absl::Status AvFailure(const std::string& path, absl::string_view what, int err) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what, ": ", AvError(err)));
}

}  // namespace vidserve::media

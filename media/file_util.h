// Whole-file reads and writes with errors that name the path and the OS reason.
#ifndef VIDSERVE_MEDIA_FILE_UTIL_H_
#define VIDSERVE_MEDIA_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vidserve::media {

// NotFound when the file does not exist, PermissionDenied / Internal for other failures.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
// Writes to `path` through a temporary sibling and renames it, so readers never see a
// half-written file.
absl::Status WriteWholeFile(const std::string& path, absl::string_view data);
// Lower-case extension including the dot (".y4m"), or "" if none.
std::string LowerExtension(const std::string& path);

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_FILE_UTIL_H_

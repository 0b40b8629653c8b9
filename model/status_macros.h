// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil has no
// public ASSIGN_OR_RETURN). Internal to model/.
#ifndef VIDSERVE_MODEL_STATUS_MACROS_H_
#define VIDSERVE_MODEL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VIDSERVE_RETURN_IF_ERROR(expr)       \
  do {                                       \
    const absl::Status _vs_status = (expr);  \
    if (!_vs_status.ok()) return _vs_status; \
  } while (0)

#define VIDSERVE_STATUS_CONCAT_INNER(a, b) a##b
#define VIDSERVE_STATUS_CONCAT(a, b) VIDSERVE_STATUS_CONCAT_INNER(a, b)

// VIDSERVE_ASSIGN_OR_RETURN(auto x, MakeX());
#define VIDSERVE_ASSIGN_OR_RETURN(lhs, expr)                         \
  auto VIDSERVE_STATUS_CONCAT(_vs_statusor_, __LINE__) = (expr);     \
  if (!VIDSERVE_STATUS_CONCAT(_vs_statusor_, __LINE__).ok())         \
    return VIDSERVE_STATUS_CONCAT(_vs_statusor_, __LINE__).status(); \
  lhs = std::move(*VIDSERVE_STATUS_CONCAT(_vs_statusor_, __LINE__))

#endif  // VIDSERVE_MODEL_STATUS_MACROS_H_

#include "model/video_types.h"

namespace vidserve {

const char* DecoderKindName(DecoderKind kind) {
  switch (kind) {
    case DecoderKind::kFull:
      return "full";
    case DecoderKind::kThin:
      return "thin";
  }
  return "unknown";
}

}  // namespace vidserve

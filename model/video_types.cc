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

const char* DecodePrecisionName(DecodePrecision precision) {
  switch (precision) {
    case DecodePrecision::kFloat32:
      return "float32";
    case DecodePrecision::kFloat16:
      return "float16";
    case DecodePrecision::kBFloat16:
      return "bfloat16";
  }
  return "unknown";
}

std::optional<DecodePrecision> ParseDecodePrecision(const std::string& name) {
  for (DecodePrecision p :
       {DecodePrecision::kFloat32, DecodePrecision::kFloat16, DecodePrecision::kBFloat16}) {
    if (name == DecodePrecisionName(p)) return p;
  }
  return std::nullopt;
}

}  // namespace vidserve

// The `.latent` file: one VAE latent on disk, written by `vidserve-cli encode` (and
// `generate --latent-out`) and read by `vidserve-cli decode`.
//
// Layout (all integers little-endian; 64-byte header, then the data):
//
//   offset  size  field
//        0     8  magic       "VSLATENT" (ASCII, no terminator)
//        8     4  version     uint32, currently 1
//       12     4  dtype       uint32: 1 = float32, 2 = float16 (IEEE binary16); the
//                             numbers of vidserve.v1.DType
//       16    32  shape       4 x int64: [channels, latent_frames, latent_height, latent_width]
//       48     8  fps         float64, frame rate of the source video (0 = unknown)
//       56     8  data_bytes  uint64, = product(shape) * element size
//       64     -  data        C-contiguous elements in shape order, little-endian
//
// The file ends exactly after the data: trailing bytes are an error, like missing ones.
// Readers reject newer versions rather than guess.
#ifndef VIDSERVE_MEDIA_LATENT_FILE_H_
#define VIDSERVE_MEDIA_LATENT_FILE_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vidserve::media {

enum class LatentDType : uint32_t {
  kFloat32 = 1,
  kFloat16 = 2,
};

struct LatentFile {
  LatentDType dtype = LatentDType::kFloat32;
  std::array<int64_t, 4> shape = {0, 0, 0, 0};
  double fps = 0.0;
  std::string data;  // raw little-endian elements, product(shape) * DTypeBytes(dtype) bytes
};

inline constexpr absl::string_view kLatentMagic = "VSLATENT";
inline constexpr uint32_t kLatentVersion = 1;
inline constexpr size_t kLatentHeaderBytes = 64;

size_t DTypeBytes(LatentDType dtype);
absl::string_view DTypeName(LatentDType dtype);  // "float32" | "float16"

// Errors (InvalidArgument) name `name` and the problem: bad magic, unsupported version or
// dtype, non-positive or overflowing shape, data size mismatch, truncation.
absl::StatusOr<LatentFile> ParseLatent(absl::string_view bytes, absl::string_view name);
absl::StatusOr<std::string> SerializeLatent(const LatentFile& latent);

absl::StatusOr<LatentFile> ReadLatentFile(const std::string& path);
absl::Status WriteLatentFile(const std::string& path, const LatentFile& latent);

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_LATENT_FILE_H_

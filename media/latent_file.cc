#include "media/latent_file.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "media/file_util.h"

namespace vidserve::media {
namespace {

// Explicit byte order so the format does not depend on the host.
template <typename T>
void PutLE(std::string* out, T value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

template <typename T>
T GetLE(const char* p) {
  uint64_t bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

absl::Status Bad(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", problem));
}

// Returns product(shape) * element bytes, or an error when a dimension is not positive or
// the product overflows.
absl::StatusOr<uint64_t> DataBytes(const std::array<int64_t, 4>& shape, LatentDType dtype,
                                   absl::string_view name) {
  uint64_t bytes = DTypeBytes(dtype);
  for (int64_t d : shape) {
    if (d <= 0) {
      return Bad(name, absl::StrCat("invalid latent shape [", absl::StrJoin(shape, ", "),
                                    "]: every dimension must be positive"));
    }
    if (bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      return Bad(name, absl::StrCat("latent shape [", absl::StrJoin(shape, ", "),
                                    "] is too large"));
    }
    bytes *= static_cast<uint64_t>(d);
  }
  return bytes;
}

}  // namespace

size_t DTypeBytes(LatentDType dtype) { return dtype == LatentDType::kFloat16 ? 2 : 4; }

absl::string_view DTypeName(LatentDType dtype) {
  return dtype == LatentDType::kFloat16 ? "float16" : "float32";
}

absl::StatusOr<LatentFile> ParseLatent(absl::string_view bytes, absl::string_view name) {
  if (bytes.size() < kLatentMagic.size() || bytes.substr(0, kLatentMagic.size()) != kLatentMagic) {
    return Bad(name, "not a .latent file (missing 'VSLATENT' magic)");
  }
  if (bytes.size() < kLatentHeaderBytes) {
    return Bad(name, absl::StrCat("truncated header: ", bytes.size(), " bytes, expected ",
                                  kLatentHeaderBytes));
  }
  const char* p = bytes.data();
  const uint32_t version = GetLE<uint32_t>(p + 8);
  if (version != kLatentVersion) {
    return Bad(name, absl::StrCat("unsupported .latent version ", version, " (this build reads ",
                                  kLatentVersion, ")"));
  }
  const uint32_t dtype = GetLE<uint32_t>(p + 12);
  if (dtype != static_cast<uint32_t>(LatentDType::kFloat32) &&
      dtype != static_cast<uint32_t>(LatentDType::kFloat16)) {
    return Bad(name, absl::StrCat("unsupported dtype code ", dtype,
                                  " (1 = float32, 2 = float16)"));
  }
  LatentFile latent;
  latent.dtype = static_cast<LatentDType>(dtype);
  for (int i = 0; i < 4; ++i) latent.shape[i] = GetLE<int64_t>(p + 16 + 8 * i);
  latent.fps = GetLE<double>(p + 48);
  const uint64_t declared = GetLE<uint64_t>(p + 56);
  absl::StatusOr<uint64_t> expected = DataBytes(latent.shape, latent.dtype, name);
  if (!expected.ok()) return expected.status();
  if (declared != *expected) {
    return Bad(name, absl::StrCat("header says ", declared, " data bytes but shape [",
                                  absl::StrJoin(latent.shape, ", "), "] of ",
                                  DTypeName(latent.dtype), " needs ", *expected));
  }
  const uint64_t present = bytes.size() - kLatentHeaderBytes;
  if (present < declared) {
    return Bad(name, absl::StrCat("truncated data: ", present, " of ", declared, " bytes"));
  }
  if (present > declared) {
    return Bad(name, absl::StrCat(present - declared, " unexpected bytes after the data"));
  }
  latent.data = std::string(bytes.substr(kLatentHeaderBytes));
  return latent;
}

absl::StatusOr<std::string> SerializeLatent(const LatentFile& latent) {
  absl::StatusOr<uint64_t> expected = DataBytes(latent.shape, latent.dtype, "latent");
  if (!expected.ok()) return expected.status();
  if (latent.data.size() != *expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "latent has ", latent.data.size(), " data bytes, shape [",
        absl::StrJoin(latent.shape, ", "), "] of ", DTypeName(latent.dtype), " needs ",
        *expected));
  }
  std::string out(kLatentMagic.data(), kLatentMagic.size());
  PutLE<uint32_t>(&out, kLatentVersion);
  PutLE<uint32_t>(&out, static_cast<uint32_t>(latent.dtype));
  for (int64_t d : latent.shape) PutLE<int64_t>(&out, d);
  PutLE<double>(&out, latent.fps);
  PutLE<uint64_t>(&out, *expected);
  out.append(latent.data);
  return out;
}

absl::StatusOr<LatentFile> ReadLatentFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseLatent(*bytes, path);
}

absl::Status WriteLatentFile(const std::string& path, const LatentFile& latent) {
  absl::StatusOr<std::string> bytes = SerializeLatent(latent);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat(path, ": ", bytes.status().message()));
  }
  return WriteWholeFile(path, *bytes);
}

}  // namespace vidserve::media

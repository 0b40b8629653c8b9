#include "data/synthetic_clip_folder.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "media/video_file.h"

namespace vidserve::data {

absl::Status WriteSyntheticClipFolder(const std::string& directory,
                                      const std::vector<uint64_t>& seeds,
                                      const SyntheticClipFolderOptions& options) {
  if (absl::Status s = ValidateSyntheticClipOptions(options.clip); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("WriteSyntheticClipFolder: cannot create ", directory, ": ", ec.message()));
  }
  for (uint64_t seed : seeds) {
    const ClipSpec spec = SampleSpec(seed, options.clip);
    const std::string stem = absl::StrFormat("%s/%010d", directory, seed);
    if (absl::Status s = media::WriteVideoFile(stem + options.extension, Render(spec)); !s.ok()) {
      return s;
    }
    const std::string caption_path = stem + ".txt";
    std::ofstream out(caption_path, std::ios::binary);
    out << Caption(spec) << "\n";
    if (!out.good()) {
      return absl::PermissionDeniedError(
          absl::StrCat("WriteSyntheticClipFolder: cannot write ", caption_path));
    }
  }
  return absl::OkStatus();
}

}  // namespace vidserve::data

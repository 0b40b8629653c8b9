// Writes synthetic clips to disk in the layout ClipFolderDataset reads (`<seed>.y4m` or
// `.mp4` plus `<seed>.txt`), so the training loader, external tools and people can use the
// generated data exactly like a folder of real video.
//
// Thread-safe as long as two callers do not write the same directory.
#ifndef VIDSERVE_DATA_SYNTHETIC_CLIP_FOLDER_H_
#define VIDSERVE_DATA_SYNTHETIC_CLIP_FOLDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/synthetic_clip_generator.h"

namespace vidserve::data {

struct SyntheticClipFolderOptions {
  SyntheticClipOptions clip;
  std::string extension = ".y4m";  // or ".mp4" (needs a libav build)
};

// Creates `directory` if needed and writes one clip and caption per seed, named by the seed
// zero-padded to 10 digits so that file-name order is seed order. Errors name the file.
absl::Status WriteSyntheticClipFolder(const std::string& directory,
                                      const std::vector<uint64_t>& seeds,
                                      const SyntheticClipFolderOptions& options = {});

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_SYNTHETIC_CLIP_FOLDER_H_

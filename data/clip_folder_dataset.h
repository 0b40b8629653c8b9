// A training/evaluation set read from a directory of captioned clips: every `name.y4m` or
// `name.mp4` directly inside it, with its caption in `name.txt` beside it. This is how
// real video reaches vidserve-train; the synthetic generator's clips can be written out
// in the same layout.
//
// Create() lists the folder once (sorted by file name, so index i is the same clip on
// every machine) and fails fast, naming the clip, when a caption is missing, so a training
// run does not die hours in. Clips are decoded lazily by Get().
//
// Thread-safe: the listing is immutable after Create(); Get() only reads files.
#ifndef VIDSERVE_DATA_CLIP_FOLDER_DATASET_H_
#define VIDSERVE_DATA_CLIP_FOLDER_DATASET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/clip_resize.h"
#include "media/video_frames.h"

namespace vidserve::data {

struct CaptionedClip {
  media::VideoFrames video;
  std::string caption;  // the .txt contents, surrounding whitespace removed
  std::string path;     // the clip's file
};

class ClipFolderDataset {
 public:
  struct Options {
    // Centre-crop and resize every clip to this size; 0 keeps each clip's own size.
    int target_height = 0;  // pixels
    int target_width = 0;   // pixels
    ResizeFilter filter = ResizeFilter::kArea;
    // Keep at most this many leading frames; 0 keeps all.
    int max_frames = 0;
    // Then keep the first 4k+1 frames.
    bool trim_to_four_k_plus_one = true;
  };

  // NotFound if `directory` does not exist or a clip has no caption file (the message
  // names both paths); InvalidArgument if it holds no clips or an option is negative or
  // sets only one of the target sides.
  static absl::StatusOr<std::unique_ptr<ClipFolderDataset>> Create(const std::string& directory,
                                                                   const Options& options);

  int size() const { return static_cast<int>(clips_.size()); }
  const std::string& clip_path(int index) const { return clips_[index]; }

  // Reads clip `index` and its caption. Errors name the offending file: the reader's error
  // for an unreadable clip, InvalidArgument for an empty caption, OutOfRange for a bad
  // index.
  absl::StatusOr<CaptionedClip> Get(int index) const;

 private:
  ClipFolderDataset(Options options, std::vector<std::string> clips)
      : options_(options), clips_(std::move(clips)) {}

  const Options options_;
  const std::vector<std::string> clips_;  // sorted full paths
};

// The caption file of a clip: the same path with the extension replaced by ".txt".
std::string CaptionPathFor(const std::string& clip_path);

// The text of a caption file, surrounding whitespace stripped (possibly empty). NotFound
// naming the file when it cannot be opened.
absl::StatusOr<std::string> ReadCaptionFile(const std::string& caption_path);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_CLIP_FOLDER_DATASET_H_

#include "data/clip_folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "media/video_file.h"

namespace vidserve::data {
namespace fs = std::filesystem;

namespace {

bool IsClipFile(const fs::path& p) {
  std::string ext = p.extension().string();
  absl::AsciiStrToLower(&ext);
  return ext == ".y4m" || ext == ".mp4";
}

}  // namespace

std::string CaptionPathFor(const std::string& clip_path) {
  return fs::path(clip_path).replace_extension(".txt").string();
}

absl::StatusOr<std::string> ReadCaptionFile(const std::string& caption_path) {
  std::ifstream in(caption_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open caption ", caption_path));
  std::ostringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

absl::StatusOr<std::unique_ptr<ClipFolderDataset>> ClipFolderDataset::Create(
    const std::string& directory, const Options& options) {
  if (options.target_height < 0 || options.target_width < 0 || options.max_frames < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClipFolderDataset: options must not be negative (target_height=", options.target_height,
        " target_width=", options.target_width, " max_frames=", options.max_frames, ")"));
  }
  if ((options.target_height == 0) != (options.target_width == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClipFolderDataset: set both target_height and target_width or neither (got ",
                     options.target_height, "x", options.target_width, ")"));
  }
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return absl::NotFoundError(absl::StrCat("ClipFolderDataset: not a directory: ", directory));
  }
  std::vector<std::string> clips;
  for (const fs::directory_entry& e : fs::directory_iterator(directory, ec)) {
    if (e.is_regular_file(ec) && IsClipFile(e.path())) clips.push_back(e.path().string());
  }
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("ClipFolderDataset: cannot list ", directory, ": ", ec.message()));
  }
  if (clips.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClipFolderDataset: no .y4m or .mp4 clips in ", directory));
  }
  std::sort(clips.begin(), clips.end());
  for (const std::string& clip : clips) {
    const std::string caption = CaptionPathFor(clip);
    if (!fs::is_regular_file(caption, ec)) {
      return absl::NotFoundError(absl::StrCat("ClipFolderDataset: clip ", clip,
                                              " has no caption file (expected ", caption, ")"));
    }
  }
  return std::unique_ptr<ClipFolderDataset>(new ClipFolderDataset(options, std::move(clips)));
}

absl::StatusOr<CaptionedClip> ClipFolderDataset::Get(int index) const {
  if (index < 0 || index >= size()) {
    return absl::OutOfRangeError(
        absl::StrCat("ClipFolderDataset: index ", index, " outside [0, ", size(), ")"));
  }
  CaptionedClip out;
  out.path = clips_[index];
  const std::string caption_path = CaptionPathFor(out.path);
  absl::StatusOr<std::string> caption = ReadCaptionFile(caption_path);
  if (!caption.ok()) {
    return absl::NotFoundError(absl::StrCat("ClipFolderDataset: cannot open caption ", caption_path,
                                            " of clip ", out.path));
  }
  out.caption = *std::move(caption);
  if (out.caption.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("ClipFolderDataset: caption ", caption_path,
                                                   " of clip ", out.path, " is empty"));
  }

  absl::StatusOr<media::VideoFrames> video = media::ReadVideoFile(out.path);
  if (!video.ok()) {
    // Reader messages usually name the file already; say which dataset entry it was.
    return absl::Status(video.status().code(),
                        absl::StrCat("ClipFolderDataset: cannot read clip ", out.path, ": ",
                                     video.status().message()));
  }
  if (options_.max_frames > 0 && video->frames > options_.max_frames) {
    video->frames = options_.max_frames;
    video->rgb.resize(video->ExpectedBytes());
  }
  if (options_.target_height > 0) {
    video = CropAndResize(*video, options_.target_height, options_.target_width, options_.filter);
    if (!video.ok()) return video.status();
  }
  if (options_.trim_to_four_k_plus_one) {
    video = TrimToFourKPlusOne(*std::move(video));
    if (!video.ok()) return video.status();
  }
  out.video = *std::move(video);
  return out;
}

}  // namespace vidserve::data

#include "media/video_file.h"

#include "absl/strings/str_cat.h"
#include "media/file_util.h"
#ifdef VIDSERVE_HAVE_FFMPEG
#include "media/mp4_io.h"
#endif

namespace vidserve::media {
namespace {

absl::Status Unsupported(const std::string& path, const std::string& ext) {
  if (ext == ".mp4") {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": .mp4 support is not compiled in (rebuild with libav: libavformat-dev, "
              "libavcodec-dev, libswscale-dev); use .y4m"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": unsupported video extension '", ext, "' (supported: .y4m",
      HaveMp4Support() ? ", .mp4" : "", ")"));
}

}  // namespace

bool HaveMp4Support() {
#ifdef VIDSERVE_HAVE_FFMPEG
  return true;
#else
  return false;
#endif
}

absl::StatusOr<VideoFrames> ReadVideoFile(const std::string& path) {
  const std::string ext = LowerExtension(path);
  if (ext == ".y4m") return ReadY4m(path);
#ifdef VIDSERVE_HAVE_FFMPEG
  if (ext == ".mp4") return ReadMp4(path);
#endif
  return Unsupported(path, ext);
}

absl::Status WriteVideoFile(const std::string& path, const VideoFrames& video,
                            const VideoWriteOptions& options) {
  const std::string ext = LowerExtension(path);
  if (ext == ".y4m") return WriteY4m(path, video, Y4mWriteOptions{options.y4m_chroma});
#ifdef VIDSERVE_HAVE_FFMPEG
  if (ext == ".mp4") return WriteMp4(path, video);
#endif
  return Unsupported(path, ext);
}

}  // namespace vidserve::media

// Reads and writes a video file, choosing the format from the extension:
//   .y4m  always (media/y4m_io.h)
//   .mp4  when built with libav (VIDSERVE_HAVE_FFMPEG); otherwise a FailedPrecondition
//         error that says so.
// Anything else is InvalidArgument naming the extension and the supported ones.
#ifndef VIDSERVE_MEDIA_VIDEO_FILE_H_
#define VIDSERVE_MEDIA_VIDEO_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "media/video_frames.h"
#include "media/y4m_io.h"

namespace vidserve::media {

struct VideoWriteOptions {
  Y4mChroma y4m_chroma = Y4mChroma::k444;
};

absl::StatusOr<VideoFrames> ReadVideoFile(const std::string& path);
absl::Status WriteVideoFile(const std::string& path, const VideoFrames& video,
                            const VideoWriteOptions& options = {});

// True when this build can read and write .mp4.
bool HaveMp4Support();

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_VIDEO_FILE_H_

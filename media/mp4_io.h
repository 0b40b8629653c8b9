// .mp4 reading and writing through libav (libavformat/libavcodec/libswscale). Compiled
// only when CMake found libav (then VIDSERVE_HAVE_FFMPEG is defined); callers go through
// media/video_file.h, which reports a clear error in builds without it.
//
// Writing uses H.264 (libx264, CRF 18, yuv420p) when the libav build has it, else MPEG-4
// Part 2 at high quality; both need even width and height (4:2:0 chroma). Reading decodes
// the best video stream of any container/codec libav knows and converts it to RGB.
#ifndef VIDSERVE_MEDIA_MP4_IO_H_
#define VIDSERVE_MEDIA_MP4_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "media/video_frames.h"

namespace vidserve::media {

struct Mp4WriteOptions {
  // Encoder name as libav knows it; empty = libx264 if available, else mpeg4.
  std::string codec;
  // x264 constant rate factor (0 = lossless-ish .. 51); ignored by mpeg4.
  int crf = 18;
};

absl::StatusOr<VideoFrames> ReadMp4(const std::string& path);
absl::Status WriteMp4(const std::string& path, const VideoFrames& video,
                      const Mp4WriteOptions& options = {});

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_MP4_IO_H_

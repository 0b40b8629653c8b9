// .png reading and writing through libav's PNG codec (libavcodec only; no container). Like
// mp4_io.h, compiled only when CMake found libav (then VIDSERVE_HAVE_FFMPEG is defined);
// callers in builds without it must not call these (eval/contact_sheet.cc reports
// Unimplemented instead).
//
// A PNG is one still image: it travels as a one-frame VideoFrames (frames = 1), so the
// contact sheet and the tests share the pixel layout of every other reader and writer.
//
// Thread-safety: pure functions of their arguments; safe to call concurrently.
#ifndef VIDSERVE_MEDIA_PNG_IO_H_
#define VIDSERVE_MEDIA_PNG_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "media/video_frames.h"

namespace vidserve::media {

// Writes frame 0 of `image` as an 8-bit RGB PNG (lossless), through a temporary sibling
// file so readers never see half a file. InvalidArgument when `image` has no frame or its
// rgb size disagrees with its shape.
absl::Status WritePng(const std::string& path, const VideoFrames& image);

// Reads any PNG libav decodes (grey, palette, RGBA, 16-bit...) as 8-bit RGB, frames = 1.
// NotFound when the file does not exist; InvalidArgument when it is not a decodable PNG.
absl::StatusOr<VideoFrames> ReadPng(const std::string& path);

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_PNG_IO_H_

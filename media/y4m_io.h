// YUV4MPEG2 (.y4m) reading and writing: the uncompressed format every video tool reads
// (ffmpeg, mpv, x264), so vidserve can always emit a playable file without libav.
//
// Colour: RGB <-> YCbCr with BT.601 coefficients. Files we write are full range and say
// so (`XCOLORRANGE=FULL`, the tag ffmpeg writes and reads); files we read are taken as full
// range unless they carry `XCOLORRANGE=LIMITED`.
// Chroma: C444 and the 4:2:0 family (C420jpeg, C420, C420mpeg2, C420paldv, which differ
// only in chroma siting; read alike). A header without a C tag means C420jpeg (the spec's
// default). Writers average 2x2 blocks; readers replicate each chroma sample.
#ifndef VIDSERVE_MEDIA_Y4M_IO_H_
#define VIDSERVE_MEDIA_Y4M_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "media/video_frames.h"

namespace vidserve::media {

enum class Y4mChroma {
  k444,  // C444: no subsampling, the best round trip
  k420,  // C420jpeg: half-resolution chroma, what most players expect
};

struct Y4mWriteOptions {
  Y4mChroma chroma = Y4mChroma::k444;
};

// Parses a whole .y4m file held in memory. `name` only labels error messages.
// Errors (InvalidArgument) name the file and the problem: bad signature, bad or missing
// W/H/F values, unsupported colourspace, interlacing, truncated frame k.
absl::StatusOr<VideoFrames> ParseY4m(absl::string_view data, absl::string_view name);
// Serialises `video` (which must be consistent: rgb.size() == ExpectedBytes(), frames >= 1).
absl::StatusOr<std::string> SerializeY4m(const VideoFrames& video,
                                         const Y4mWriteOptions& options = {});

// File versions of the above. NotFound if the file cannot be opened.
absl::StatusOr<VideoFrames> ReadY4m(const std::string& path);
absl::Status WriteY4m(const std::string& path, const VideoFrames& video,
                      const Y4mWriteOptions& options = {});

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_Y4M_IO_H_

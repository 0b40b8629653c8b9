// Conversions between the public API messages and the media/ file types. Nothing else.
#ifndef VIDSERVE_CLIENT_CLI_CONVERT_H_
#define VIDSERVE_CLIENT_CLI_CONVERT_H_

#include "absl/status/statusor.h"
#include "media/latent_file.h"
#include "media/video_frames.h"
#include "vidserve/v1/video_service.pb.h"

namespace vidserve::cli {

void ToProto(const media::VideoFrames& in, v1::Video* out);
// Fails when the byte count does not match frames*height*width*3.
absl::StatusOr<media::VideoFrames> FromProto(const v1::Video& in);

void ToProto(const media::LatentFile& in, v1::Latent* out);
absl::StatusOr<media::LatentFile> FromProto(const v1::Latent& in, double fps);

}  // namespace vidserve::cli

#endif  // VIDSERVE_CLIENT_CLI_CONVERT_H_

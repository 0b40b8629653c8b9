// What the libav-based readers and writers (mp4_io, png_io) share: owning handles for
// libav's codec objects and its error text in absl errors. Internal to media/; compiled
// only with libav (like mp4_io and png_io).
//
// Thread-safety: free functions and handle types without shared state.
#ifndef VIDSERVE_MEDIA_AV_HANDLES_H_
#define VIDSERVE_MEDIA_AV_HANDLES_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
}

namespace vidserve::media {

// libav's text for an AVERROR code.
std::string AvError(int err);
// InvalidArgument "<path>: <what>: <libav's text for err>".
absl::Status AvFailure(const std::string& path, absl::string_view what, int err);

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_AV_HANDLES_H_

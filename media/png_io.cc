#include "media/png_io.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "media/av_handles.h"
#include "media/file_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace vidserve::media {

absl::Status WritePng(const std::string& path, const VideoFrames& image) {
  if (image.frames < 1 || image.height < 1 || image.width < 1 ||
      image.rgb.size() != image.ExpectedBytes()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": inconsistent image (", image.frames,
                                                   " frames of ", image.width, "x", image.height,
                                                   ", ", image.rgb.size(), " bytes)"));
  }
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (codec == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": this libav build has no PNG encoder"));
  }
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  enc->width = image.width;
  enc->height = image.height;
  enc->pix_fmt = AV_PIX_FMT_RGB24;
  enc->time_base = AVRational{1, 1};  // required by avcodec_open2, meaningless for a still
  int err = avcodec_open2(enc.get(), codec, nullptr);
  if (err < 0) return AvFailure(path, "cannot open the PNG encoder", err);

  FramePtr frame(av_frame_alloc());
  frame->format = AV_PIX_FMT_RGB24;
  frame->width = image.width;
  frame->height = image.height;
  err = av_frame_get_buffer(frame.get(), 0);
  if (err < 0) return AvFailure(path, "cannot allocate a frame", err);
  // libav pads rows to its alignment, so copy row by row.
  const size_t row_bytes = static_cast<size_t>(image.width) * 3;
  for (int y = 0; y < image.height; ++y) {
    std::memcpy(frame->data[0] + static_cast<size_t>(y) * frame->linesize[0],
                image.Frame(0) + y * row_bytes, row_bytes);
  }
  frame->pts = 0;

  err = avcodec_send_frame(enc.get(), frame.get());
  if (err < 0) return AvFailure(path, "PNG encoding failed", err);
  err = avcodec_send_frame(enc.get(), nullptr);
  if (err < 0) return AvFailure(path, "PNG encoding failed", err);
  PacketPtr pkt(av_packet_alloc());
  err = avcodec_receive_packet(enc.get(), pkt.get());
  if (err < 0) return AvFailure(path, "PNG encoding produced no image", err);
  return WriteWholeFile(path,
                        absl::string_view(reinterpret_cast<const char*>(pkt->data), pkt->size));
}

absl::StatusOr<VideoFrames> ReadPng(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_PNG);
  if (codec == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": this libav build has no PNG decoder"));
  }
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  int err = avcodec_open2(dec.get(), codec, nullptr);
  if (err < 0) return AvFailure(path, "cannot open the PNG decoder", err);

  PacketPtr pkt(av_packet_alloc());
  // av_new_packet adds the zeroed padding the decoder's bit readers may over-read into.
  err = av_new_packet(pkt.get(), static_cast<int>(bytes->size()));
  if (err < 0) return AvFailure(path, "cannot allocate a packet", err);
  std::memcpy(pkt->data, bytes->data(), bytes->size());
  err = avcodec_send_packet(dec.get(), pkt.get());
  if (err < 0) return AvFailure(path, "not a decodable PNG", err);
  avcodec_send_packet(dec.get(), nullptr);
  FramePtr frame(av_frame_alloc());
  err = avcodec_receive_frame(dec.get(), frame.get());
  if (err < 0) return AvFailure(path, "not a decodable PNG", err);

  VideoFrames image;
  image.frames = 1;
  image.width = frame->width;
  image.height = frame->height;
  image.rgb.resize(image.ExpectedBytes());
  const size_t row_bytes = static_cast<size_t>(image.width) * 3;
  if (frame->format == AV_PIX_FMT_RGB24) {
    for (int y = 0; y < image.height; ++y) {
      std::memcpy(image.Frame(0) + y * row_bytes,
                  frame->data[0] + static_cast<size_t>(y) * frame->linesize[0], row_bytes);
    }
    return image;
  }
  SwsPtr sws(sws_getContext(image.width, image.height, static_cast<AVPixelFormat>(frame->format),
                            image.width, image.height, AV_PIX_FMT_RGB24, SWS_POINT, nullptr,
                            nullptr, nullptr));
  if (!sws) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unsupported PNG pixel format ",
                     av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format))));
  }
  uint8_t* dst[1] = {image.Frame(0)};
  const int dst_stride[1] = {static_cast<int>(row_bytes)};
  sws_scale(sws.get(), frame->data, frame->linesize, 0, image.height, dst, dst_stride);
  return image;
}

}  // namespace vidserve::media

#include "media/mp4_io.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "media/av_handles.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace vidserve::media {
namespace {

// libav prints encoder chatter (x264 statistics) at INFO; keep only real errors.
void QuietLibav() {
  static const bool once = [] {
    av_log_set_level(AV_LOG_ERROR);
    return true;
  }();
  (void)once;
}

struct InputDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct OutputDeleter {
  void operator()(AVFormatContext* f) const {
    if (f->pb != nullptr && !(f->oformat->flags & AVFMT_NOFILE)) avio_closep(&f->pb);
    avformat_free_context(f);
  }
};

// Sends `frame` (nullptr = flush) and writes every packet the encoder has ready.
absl::Status EncodeAndWrite(const std::string& path, AVCodecContext* enc, AVStream* stream,
                            AVFormatContext* fmt, AVFrame* frame, AVPacket* pkt) {
  int err = avcodec_send_frame(enc, frame);
  if (err < 0) return AvFailure(path, "encoding a frame failed", err);
  while (true) {
    err = avcodec_receive_packet(enc, pkt);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return absl::OkStatus();
    if (err < 0) return AvFailure(path, "encoding a frame failed", err);
    av_packet_rescale_ts(pkt, enc->time_base, stream->time_base);
    pkt->stream_index = stream->index;
    err = av_interleaved_write_frame(fmt, pkt);
    if (err < 0) return AvFailure(path, "writing a packet failed", err);
  }
}

}  // namespace

absl::Status WriteMp4(const std::string& path, const VideoFrames& video,
                      const Mp4WriteOptions& options) {
  QuietLibav();
  if (video.frames < 1 || video.rgb.size() != video.ExpectedBytes()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": inconsistent video (", video.frames,
                                                   " frames, ", video.rgb.size(), " bytes)"));
  }
  if (video.width % 2 != 0 || video.height % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": .mp4 needs even width and height (4:2:0 chroma), got ", video.width, "x",
        video.height, "; write .y4m instead"));
  }
  const AVCodec* codec = nullptr;
  if (!options.codec.empty()) {
    codec = avcodec_find_encoder_by_name(options.codec.c_str());
    if (codec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": this libav build has no encoder '", options.codec, "'"));
    }
  } else {
    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == nullptr) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (codec == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": this libav build has neither libx264 nor mpeg4 encoders"));
    }
  }

  AVFormatContext* raw_fmt = nullptr;
  int err = avformat_alloc_output_context2(&raw_fmt, nullptr, "mp4", path.c_str());
  if (err < 0 || raw_fmt == nullptr) return AvFailure(path, "cannot create an mp4 muxer", err);
  std::unique_ptr<AVFormatContext, OutputDeleter> fmt(raw_fmt);

  CodecContextPtr enc(avcodec_alloc_context3(codec));
  const double fps = video.fps > 0 ? video.fps : 24.0;
  const AVRational rate = av_d2q(fps, 100000);
  enc->width = video.width;
  enc->height = video.height;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->framerate = rate;
  enc->time_base = av_inv_q(rate);
  enc->gop_size = 12;
  if (codec->id == AV_CODEC_ID_H264) {
    av_opt_set(enc->priv_data, "crf", std::to_string(options.crf).c_str(), 0);
    av_opt_set(enc->priv_data, "preset", "medium", 0);
  } else {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 2;
  }
  if (fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  err = avcodec_open2(enc.get(), codec, nullptr);
  if (err < 0) return AvFailure(path, absl::StrCat("cannot open encoder ", codec->name), err);

  AVStream* stream = avformat_new_stream(fmt.get(), nullptr);
  if (stream == nullptr) return absl::InternalError(absl::StrCat(path, ": cannot add a stream"));
  stream->time_base = enc->time_base;
  stream->avg_frame_rate = rate;
  err = avcodec_parameters_from_context(stream->codecpar, enc.get());
  if (err < 0) return AvFailure(path, "cannot copy encoder parameters", err);

  err = avio_open(&fmt->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (err < 0) return AvFailure(path, "cannot open for writing", err);
  err = avformat_write_header(fmt.get(), nullptr);
  if (err < 0) return AvFailure(path, "cannot write the mp4 header", err);

  SwsPtr sws(sws_getContext(video.width, video.height, AV_PIX_FMT_RGB24, video.width,
                            video.height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr, nullptr,
                            nullptr));
  FramePtr frame(av_frame_alloc());
  PacketPtr pkt(av_packet_alloc());
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = video.width;
  frame->height = video.height;
  err = av_frame_get_buffer(frame.get(), 0);
  if (err < 0) return AvFailure(path, "cannot allocate a frame", err);

  for (int t = 0; t < video.frames; ++t) {
    err = av_frame_make_writable(frame.get());
    if (err < 0) return AvFailure(path, "cannot allocate a frame", err);
    const uint8_t* src[1] = {video.Frame(t)};
    const int src_stride[1] = {video.width * 3};
    sws_scale(sws.get(), src, src_stride, 0, video.height, frame->data, frame->linesize);
    frame->pts = t;
    absl::Status s = EncodeAndWrite(path, enc.get(), stream, fmt.get(), frame.get(), pkt.get());
    if (!s.ok()) return s;
  }
  absl::Status s = EncodeAndWrite(path, enc.get(), stream, fmt.get(), nullptr, pkt.get());
  if (!s.ok()) return s;
  err = av_write_trailer(fmt.get());
  if (err < 0) return AvFailure(path, "cannot finish the mp4", err);
  return absl::OkStatus();
}

absl::StatusOr<VideoFrames> ReadMp4(const std::string& path) {
  QuietLibav();
  AVFormatContext* raw_fmt = nullptr;
  int err = avformat_open_input(&raw_fmt, path.c_str(), nullptr, nullptr);
  if (err < 0) {
    if (err == AVERROR(ENOENT)) {
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", AvError(err)));
    }
    return AvFailure(path, "cannot open as a video file", err);
  }
  std::unique_ptr<AVFormatContext, InputDeleter> fmt(raw_fmt);
  err = avformat_find_stream_info(fmt.get(), nullptr);
  if (err < 0) return AvFailure(path, "cannot read stream information", err);
  const AVCodec* codec = nullptr;
  const int index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (index < 0) return AvFailure(path, "no decodable video stream", index);
  AVStream* stream = fmt->streams[index];

  CodecContextPtr dec(avcodec_alloc_context3(codec));
  err = avcodec_parameters_to_context(dec.get(), stream->codecpar);
  if (err < 0) return AvFailure(path, "cannot copy decoder parameters", err);
  err = avcodec_open2(dec.get(), codec, nullptr);
  if (err < 0) return AvFailure(path, absl::StrCat("cannot open decoder ", codec->name), err);

  VideoFrames video;
  video.width = dec->width;
  video.height = dec->height;
  const AVRational rate = av_guess_frame_rate(fmt.get(), stream, nullptr);
  video.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 24.0;
  if (video.width <= 0 || video.height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": video stream has no size"));
  }

  SwsPtr sws;
  FramePtr frame(av_frame_alloc());
  PacketPtr pkt(av_packet_alloc());
  auto drain = [&]() -> absl::Status {
    while (true) {
      int e = avcodec_receive_frame(dec.get(), frame.get());
      if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return absl::OkStatus();
      if (e < 0) return AvFailure(path, absl::StrCat("decoding frame ", video.frames, " failed"), e);
      if (frame->width != video.width || frame->height != video.height) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": frame ", video.frames, " changes size to ", frame->width, "x",
            frame->height, " (expected ", video.width, "x", video.height, ")"));
      }
      if (!sws) {
        sws.reset(sws_getContext(video.width, video.height,
                                 static_cast<AVPixelFormat>(frame->format), video.width,
                                 video.height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr,
                                 nullptr));
        if (!sws) return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported pixel format"));
      }
      video.rgb.resize(video.rgb.size() + video.FrameBytes());
      uint8_t* dst[1] = {video.Frame(video.frames)};
      const int dst_stride[1] = {video.width * 3};
      sws_scale(sws.get(), frame->data, frame->linesize, 0, video.height, dst, dst_stride);
      ++video.frames;
      av_frame_unref(frame.get());
    }
  };
  while ((err = av_read_frame(fmt.get(), pkt.get())) >= 0) {
    if (pkt->stream_index == index) {
      int e = avcodec_send_packet(dec.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (e < 0) return AvFailure(path, "decoding failed", e);
      absl::Status s = drain();
      if (!s.ok()) return s;
    } else {
      av_packet_unref(pkt.get());
    }
  }
  if (err != AVERROR_EOF) return AvFailure(path, "reading failed", err);
  avcodec_send_packet(dec.get(), nullptr);
  absl::Status s = drain();
  if (!s.ok()) return s;
  if (video.frames == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": no frames"));
  return video;
}

}  // namespace vidserve::media

#include "media/y4m_io.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "media/file_util.h"

namespace vidserve::media {
namespace {

constexpr absl::string_view kSignature = "YUV4MPEG2";
constexpr absl::string_view kFrameTag = "FRAME";
// Larger than any video the model accepts; rejects garbage before it allocates gigabytes.
constexpr int kMaxDimension = 16384;

struct Header {
  int width = 0;
  int height = 0;
  double fps = 24.0;
  bool chroma420 = true;  // the spec's default (C420jpeg)
  bool limited_range = false;
};

uint8_t ClampToByte(double v) {
  return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
}

absl::Status Bad(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", problem));
}

absl::StatusOr<Header> ParseHeader(absl::string_view line, absl::string_view name) {
  std::vector<absl::string_view> tokens = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (tokens.empty() || tokens[0] != kSignature) {
    return Bad(name, "not a YUV4MPEG2 file (the file must start with 'YUV4MPEG2 ')");
  }
  Header h;
  bool have_w = false, have_h = false;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const char tag = tokens[i][0];
    const absl::string_view value = tokens[i].substr(1);
    switch (tag) {
      case 'W':
      case 'H': {
        int v = 0;
        if (!absl::SimpleAtoi(value, &v) || v <= 0 || v > kMaxDimension) {
          return Bad(name, absl::StrCat("invalid ", tag == 'W' ? "width" : "height", " '",
                                        tokens[i], "' in header (must be 1..", kMaxDimension,
                                        ")"));
        }
        (tag == 'W' ? h.width : h.height) = v;
        (tag == 'W' ? have_w : have_h) = true;
        break;
      }
      case 'F': {
        std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(value, ':');
        int64_t num = 0, den = 0;
        if (!absl::SimpleAtoi(parts.first, &num) || !absl::SimpleAtoi(parts.second, &den) ||
            num <= 0 || den <= 0) {
          return Bad(name, absl::StrCat("invalid frame rate '", tokens[i],
                                        "' in header (expected F<num>:<den>)"));
        }
        h.fps = static_cast<double>(num) / static_cast<double>(den);
        break;
      }
      case 'I':
        if (value != "p" && value != "?") {
          return Bad(name, absl::StrCat("unsupported interlacing '", tokens[i],
                                        "' (only progressive 'Ip' is supported)"));
        }
        break;
      case 'C':
        if (value == "444") {
          h.chroma420 = false;
        } else if (value == "420jpeg" || value == "420" || value == "420mpeg2" ||
                   value == "420paldv") {
          h.chroma420 = true;
        } else {
          return Bad(name, absl::StrCat("unsupported colourspace '", tokens[i],
                                        "' (supported: C444, C420jpeg, C420, C420mpeg2, "
                                        "C420paldv)"));
        }
        break;
      case 'X':
        if (value == "COLORRANGE=LIMITED") h.limited_range = true;
        break;
      default:  // A (aspect) and unknown tags carry nothing we need.
        break;
    }
  }
  if (!have_w || !have_h) return Bad(name, "header lacks the W (width) or H (height) tag");
  return h;
}

// BT.601 YCbCr -> RGB for one pixel. Limited range first stretches Y to 0..255 and
// Cb/Cr to +-127.5.
void YuvToRgb(double y, double cb, double cr, bool limited, uint8_t* rgb) {
  if (limited) {
    y = (y - 16.0) * 255.0 / 219.0;
    cb = (cb - 128.0) * 255.0 / 224.0;
    cr = (cr - 128.0) * 255.0 / 224.0;
  } else {
    cb -= 128.0;
    cr -= 128.0;
  }
  rgb[0] = ClampToByte(y + 1.402 * cr);
  rgb[1] = ClampToByte(y - 0.344136 * cb - 0.714136 * cr);
  rgb[2] = ClampToByte(y + 1.772 * cb);
}

double Luma(const uint8_t* p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }
double Cb(const uint8_t* p) { return 128.0 - 0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2]; }
double Cr(const uint8_t* p) { return 128.0 + 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2]; }

// Writes F<num>:<den>: exact for integer rates and the NTSC family (x/1.001).
std::string FrameRateTag(double fps) {
  if (!(fps > 0)) fps = 24.0;
  if (std::abs(fps - std::round(fps)) < 1e-9) return absl::StrCat("F", std::lround(fps), ":1");
  const double ntsc = fps * 1001.0;
  if (std::abs(ntsc - std::round(ntsc)) < 1e-3) return absl::StrCat("F", std::lround(ntsc), ":1001");
  return absl::StrCat("F", std::llround(fps * 1000.0), ":1000");
}

}  // namespace

absl::StatusOr<VideoFrames> ParseY4m(absl::string_view data, absl::string_view name) {
  const size_t header_end = data.find('\n');
  if (header_end == absl::string_view::npos) {
    if (!absl::StartsWith(data, kSignature)) {
      return Bad(name, "not a YUV4MPEG2 file (the file must start with 'YUV4MPEG2 ')");
    }
    return Bad(name, "truncated header (no newline after the YUV4MPEG2 header)");
  }
  absl::StatusOr<Header> header = ParseHeader(data.substr(0, header_end), name);
  if (!header.ok()) return header.status();
  const Header& h = *header;

  const size_t luma = static_cast<size_t>(h.width) * h.height;
  const int cw = h.chroma420 ? (h.width + 1) / 2 : h.width;
  const int ch = h.chroma420 ? (h.height + 1) / 2 : h.height;
  const size_t chroma = static_cast<size_t>(cw) * ch;
  const size_t frame_payload = luma + 2 * chroma;

  VideoFrames video;
  video.width = h.width;
  video.height = h.height;
  video.fps = h.fps;
  size_t pos = header_end + 1;
  while (pos < data.size()) {
    const int t = video.frames;
    const size_t line_end = data.find('\n', pos);
    if (line_end == absl::string_view::npos ||
        !absl::StartsWith(data.substr(pos, line_end - pos), kFrameTag)) {
      return Bad(name, absl::StrCat("frame ", t, ": expected a 'FRAME' marker at byte ", pos));
    }
    pos = line_end + 1;
    if (data.size() - pos < frame_payload) {
      return Bad(name, absl::StrCat("truncated frame ", t, ": expected ", frame_payload,
                                    " bytes of ", h.chroma420 ? "4:2:0" : "4:4:4",
                                    " YUV, file has ", data.size() - pos));
    }
    const auto* y_plane = reinterpret_cast<const uint8_t*>(data.data() + pos);
    const uint8_t* u_plane = y_plane + luma;
    const uint8_t* v_plane = u_plane + chroma;
    video.rgb.resize(video.rgb.size() + luma * 3);
    uint8_t* out = video.rgb.data() + luma * 3 * t;
    for (int y = 0; y < h.height; ++y) {
      const int cy = h.chroma420 ? y / 2 : y;
      for (int x = 0; x < h.width; ++x) {
        const int cx = h.chroma420 ? x / 2 : x;
        const size_t c = static_cast<size_t>(cy) * cw + cx;
        YuvToRgb(y_plane[static_cast<size_t>(y) * h.width + x], u_plane[c], v_plane[c],
                 h.limited_range, out + (static_cast<size_t>(y) * h.width + x) * 3);
      }
    }
    pos += frame_payload;
    ++video.frames;
  }
  if (video.frames == 0) return Bad(name, "no frames after the header");
  return video;
}

absl::StatusOr<std::string> SerializeY4m(const VideoFrames& video,
                                         const Y4mWriteOptions& options) {
  if (video.frames < 1 || video.height < 1 || video.width < 1) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write an empty video (",
                                                   video.frames, "x", video.height, "x",
                                                   video.width, ")"));
  }
  if (video.rgb.size() != video.ExpectedBytes()) {
    return absl::InvalidArgumentError(absl::StrCat("video has ", video.rgb.size(),
                                                   " RGB bytes, expected ",
                                                   video.ExpectedBytes()));
  }
  const bool c420 = options.chroma == Y4mChroma::k420;
  const int w = video.width, h = video.height;
  const int cw = c420 ? (w + 1) / 2 : w;
  const int ch = c420 ? (h + 1) / 2 : h;
  const size_t luma = static_cast<size_t>(w) * h;
  const size_t chroma = static_cast<size_t>(cw) * ch;

  std::string out = absl::StrCat(kSignature, " W", w, " H", h, " ", FrameRateTag(video.fps),
                                 " Ip A1:1 ", c420 ? "C420jpeg" : "C444",
                                 " XCOLORRANGE=FULL\n");
  out.reserve(out.size() + video.frames * (6 + luma + 2 * chroma));
  std::vector<uint8_t> planes(luma + 2 * chroma);
  for (int t = 0; t < video.frames; ++t) {
    const uint8_t* rgb = video.Frame(t);
    uint8_t* yp = planes.data();
    uint8_t* up = yp + luma;
    uint8_t* vp = up + chroma;
    for (size_t i = 0; i < luma; ++i) yp[i] = ClampToByte(Luma(rgb + 3 * i));
    for (int cy = 0; cy < ch; ++cy) {
      for (int cx = 0; cx < cw; ++cx) {
        double cb = 0, cr = 0;
        int n = 0;
        const int span = c420 ? 2 : 1;
        for (int dy = 0; dy < span; ++dy) {
          for (int dx = 0; dx < span; ++dx) {
            const int y = cy * span + dy, x = cx * span + dx;
            if (y >= h || x >= w) continue;  // odd sizes: average what exists
            const uint8_t* p = rgb + (static_cast<size_t>(y) * w + x) * 3;
            cb += Cb(p);
            cr += Cr(p);
            ++n;
          }
        }
        up[static_cast<size_t>(cy) * cw + cx] = ClampToByte(cb / n);
        vp[static_cast<size_t>(cy) * cw + cx] = ClampToByte(cr / n);
      }
    }
    absl::StrAppend(&out, kFrameTag, "\n");
    out.append(reinterpret_cast<const char*>(planes.data()), planes.size());
  }
  return out;
}

absl::StatusOr<VideoFrames> ReadY4m(const std::string& path) {
  absl::StatusOr<std::string> data = ReadWholeFile(path);
  if (!data.ok()) return data.status();
  return ParseY4m(*data, path);
}

absl::Status WriteY4m(const std::string& path, const VideoFrames& video,
                      const Y4mWriteOptions& options) {
  absl::StatusOr<std::string> data = SerializeY4m(video, options);
  if (!data.ok()) {
    return absl::Status(data.status().code(), absl::StrCat(path, ": ", data.status().message()));
  }
  return WriteWholeFile(path, *data);
}

}  // namespace vidserve::media

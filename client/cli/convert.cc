#include "client/cli/convert.h"

#include "absl/strings/str_cat.h"

namespace vidserve::cli {

void ToProto(const media::VideoFrames& in, v1::Video* out) {
  out->set_frames(in.frames);
  out->set_height(in.height);
  out->set_width(in.width);
  out->set_fps(in.fps);
  out->set_rgb(in.rgb.data(), in.rgb.size());
}

absl::StatusOr<media::VideoFrames> FromProto(const v1::Video& in) {
  media::VideoFrames v;
  v.frames = static_cast<int>(in.frames());
  v.height = static_cast<int>(in.height());
  v.width = static_cast<int>(in.width());
  v.fps = in.fps() > 0 ? in.fps() : 24.0;
  if (in.rgb().size() != v.ExpectedBytes()) {
    return absl::DataLossError(absl::StrCat("server sent a video of ", in.frames(), "x",
                                            in.height(), "x", in.width(), " with ",
                                            in.rgb().size(), " bytes, expected ",
                                            v.ExpectedBytes()));
  }
  v.rgb.assign(in.rgb().begin(), in.rgb().end());
  return v;
}

void ToProto(const media::LatentFile& in, v1::Latent* out) {
  for (int64_t d : in.shape) out->add_shape(d);
  out->set_dtype(in.dtype == media::LatentDType::kFloat16 ? v1::DTYPE_FLOAT16
                                                          : v1::DTYPE_FLOAT32);
  out->set_data(in.data);
}

absl::StatusOr<media::LatentFile> FromProto(const v1::Latent& in, double fps) {
  if (in.shape_size() != 4) {
    return absl::DataLossError(absl::StrCat("server sent a latent with ", in.shape_size(),
                                            " dimensions, expected 4"));
  }
  media::LatentFile l;
  l.dtype = in.dtype() == v1::DTYPE_FLOAT16 ? media::LatentDType::kFloat16
                                            : media::LatentDType::kFloat32;
  for (int i = 0; i < 4; ++i) l.shape[i] = in.shape(i);
  l.fps = fps;
  l.data = in.data();
  return l;
}

}  // namespace vidserve::cli

// VideoFrames: a decoded RGB clip held in memory, the unit every reader and writer in
// media/ exchanges. Deliberately a plain struct with no torch or proto types so the CLI,
// the tools and the tests can share it.
#ifndef VIDSERVE_MEDIA_VIDEO_FRAMES_H_
#define VIDSERVE_MEDIA_VIDEO_FRAMES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vidserve::media {

struct VideoFrames {
  int frames = 0;
  int height = 0;
  int width = 0;
  // Frames per second; metadata only. Readers set it from the file (24 if the file has none).
  double fps = 24.0;
  // uint8 RGB, interleaved and frame-major, exactly like vidserve.v1.Video:
  // byte index = ((t * height + y) * width + x) * 3 + c.
  std::vector<uint8_t> rgb;

  size_t FrameBytes() const { return static_cast<size_t>(height) * width * 3; }
  size_t ExpectedBytes() const { return FrameBytes() * static_cast<size_t>(frames); }
  const uint8_t* Frame(int t) const { return rgb.data() + FrameBytes() * t; }
  uint8_t* Frame(int t) { return rgb.data() + FrameBytes() * t; }
};

}  // namespace vidserve::media

#endif  // VIDSERVE_MEDIA_VIDEO_FRAMES_H_

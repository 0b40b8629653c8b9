// Helpers shared by the media tests: synthetic clips and a scratch directory.
#ifndef VIDSERVE_TESTS_UNIT_MEDIA_TEST_UTIL_H_
#define VIDSERVE_TESTS_UNIT_MEDIA_TEST_UTIL_H_

#include <cmath>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "media/video_frames.h"

namespace vidserve::media::testing {

// A smooth moving colour gradient: the kind of content chroma subsampling and lossy codecs
// reproduce closely, so round-trip tolerances can be tight.
inline VideoFrames SmoothClip(int frames, int height, int width, double fps = 24.0) {
  VideoFrames v;
  v.frames = frames;
  v.height = height;
  v.width = width;
  v.fps = fps;
  v.rgb.resize(v.ExpectedBytes());
  for (int t = 0; t < frames; ++t) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        uint8_t* p = v.Frame(t) + (static_cast<size_t>(y) * width + x) * 3;
        p[0] = static_cast<uint8_t>(40 + 160.0 * x / width);
        p[1] = static_cast<uint8_t>(40 + 160.0 * y / height);
        p[2] = static_cast<uint8_t>(100 + 60.0 * std::sin(0.3 * t + 0.05 * (x + y)));
      }
    }
  }
  return v;
}

inline double MeanAbsDiff(const VideoFrames& a, const VideoFrames& b) {
  double sum = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
  return a.rgb.empty() ? 0 : sum / a.rgb.size();
}

inline int MaxAbsDiff(const VideoFrames& a, const VideoFrames& b) {
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) m = std::max(m, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return m;
}

// A fresh path under the test's temporary directory.
inline std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string base = dir != nullptr ? dir : ::testing::TempDir();
  if (!base.empty() && base.back() != '/') base += '/';
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return base + "vidserve_media_" + info->test_suite_name() + "_" + info->name() + "_" + name;
}

}  // namespace vidserve::media::testing

#endif  // VIDSERVE_TESTS_UNIT_MEDIA_TEST_UTIL_H_

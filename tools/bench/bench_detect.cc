// vidserve-bench detect: the quality bench's analytic detector on clip files, one JSON line
// per file: what it saw (colour, shape, motion of each object, with the features behind
// each decision) and, given a caption, the score against it. For checking a generated clip
// by hand, and for looking into the detector's decisions on clips that
// `vidserve-bench quality --dump-clips` wrote.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/caption_parser.h"
#include "data/clip_detector.h"
#include "data/clip_folder_dataset.h"
#include "media/video_file.h"
#include "tools/bench/bench_commands.h"

namespace vidserve::bench {
namespace {

constexpr const char* kUsage =
    "usage: vidserve-bench detect [--caption TEXT] FILE.y4m|FILE.mp4 ...\n"
    "  Prints one JSON line per file. The caption scored against is --caption, else the\n"
    "  text of FILE's .txt sibling (e.g. clip.txt beside clip.y4m) when there is one.\n";

// The caption beside `path` (same name, .txt), or "" when there is none.
std::string SiblingCaption(const std::string& path) {
  return data::ReadCaptionFile(data::CaptionPathFor(path)).value_or("");
}

nlohmann::json ObjectJson(const data::DetectedObject& o) {
  nlohmann::json iou;
  for (data::Shape shape : data::kAllShapes) {
    iou[std::string(data::ShapeName(shape))] = o.template_iou[static_cast<size_t>(shape)];
  }
  return {{"colour", data::ColourName(o.colour)},
          {"shape", o.shape ? nlohmann::json(data::ShapeName(*o.shape)) : nlohmann::json("none")},
          {"motion", data::MotionPhrase(o.motion)},
          {"pixel_fraction", o.pixel_fraction},
          {"frames_with_object", o.frames_with_object},
          {"elongation", o.elongation},
          {"radial_cv", o.radial_cv},
          {"template_iou", iou},
          {"displacement_px", {o.displacement_x_px, o.displacement_y_px}},
          {"area_ratio", o.area_ratio},
          {"min_aligned_iou", o.min_aligned_iou}};
}

}  // namespace

int RunDetectBench(int argc, char** argv) {
  std::string caption_flag;
  bool have_caption_flag = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--caption") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vidserve-bench detect: --caption needs a text\n%s", kUsage);
        return 2;
      }
      caption_flag = argv[++i];
      have_caption_flag = true;
    } else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "vidserve-bench detect: unknown flag %s\n%s", arg.c_str(), kUsage);
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "vidserve-bench detect: no clip files given\n%s", kUsage);
    return 2;
  }
  int failures = 0;
  for (const std::string& path : files) {
    absl::StatusOr<media::VideoFrames> video = media::ReadVideoFile(path);
    absl::StatusOr<data::ClipDetection> detection =
        video.ok() ? data::DetectClip(*video) : absl::StatusOr<data::ClipDetection>(video.status());
    if (!detection.ok()) {
      std::fprintf(stderr, "vidserve-bench detect: %s: %s\n", path.c_str(),
                   detection.status().ToString().c_str());
      ++failures;
      continue;
    }
    nlohmann::json line = {{"file", path}, {"objects", nlohmann::json::array()}};
    for (const data::DetectedObject& o : detection->objects)
      line["objects"].push_back(ObjectJson(o));
    const std::string caption = have_caption_flag ? caption_flag : SiblingCaption(path);
    if (!caption.empty()) {
      const data::ExpectedAttributes expected = data::ParseCaption(caption);
      const data::ClipScore score = data::Score(*detection, expected);
      line["caption"] = caption;
      auto put = [&](const char* name, const std::optional<bool>& correct) {
        if (correct.has_value()) line["correct"][name] = *correct;
      };
      put("colour", score.colour_correct);
      put("shape", score.shape_correct);
      put("motion", score.motion_correct);
      if (expected.shape) line["expected_shape"] = data::ShapeName(*expected.shape);
    }
    std::printf("%s\n", line.dump().c_str());
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace vidserve::bench

#include "data/caption_parser.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace vidserve::data {
namespace {

std::optional<Colour> ColourWord(absl::string_view w) {
  for (int i = 0; i < kNumColours; ++i) {
    if (w == ColourName(ColourFromIndex(i))) return ColourFromIndex(i);
  }
  if (w == "magenta" || w == "violet") return Colour::kPurple;
  if (w == "grey") return Colour::kGray;
  if (w == "turquoise") return Colour::kCyan;
  return std::nullopt;
}

std::optional<Shape> ShapeWord(absl::string_view w) {
  if (absl::ConsumeSuffix(&w, "s") && w.empty()) return std::nullopt;  // plurals
  for (Shape s : kAllShapes) {
    if (w == ShapeName(s)) return s;
  }
  if (w == "ball" || w == "disc" || w == "disk" || w == "dot") return Shape::kCircle;
  if (w == "box" || w == "cube") return Shape::kSquare;
  if (w == "rhombu" || w == "rhombus") return Shape::kDiamond;
  return std::nullopt;
}

std::optional<Size> SizeWord(absl::string_view w) {
  if (w == "small" || w == "tiny" || w == "little") return Size::kSmall;
  if (w == "large" || w == "big" || w == "huge") return Size::kLarge;
  return std::nullopt;
}

std::optional<Motion> MotionWord(absl::string_view w) {
  if (w == "left" || w == "leftward" || w == "leftwards") return Motion::kLeft;
  if (w == "right" || w == "rightward" || w == "rightwards") return Motion::kRight;
  if (w == "up" || w == "upward" || w == "upwards" || w == "rising") return Motion::kUp;
  if (w == "down" || w == "downward" || w == "downwards" || w == "falling") return Motion::kDown;
  if (absl::StartsWith(w, "grow") || absl::StartsWith(w, "expand")) return Motion::kGrow;
  if (absl::StartsWith(w, "shrink")) return Motion::kShrink;
  if (absl::StartsWith(w, "rotat") || absl::StartsWith(w, "spin")) return Motion::kRotate;
  if (absl::StartsWith(w, "bounc")) return Motion::kBounce;
  if (w == "still" || w == "static" || w == "stationary" || w == "motionless") {
    return Motion::kStill;
  }
  return std::nullopt;
}

std::optional<Texture> TextureWord(absl::string_view w) {
  if (absl::StartsWith(w, "stripe")) return Texture::kStripes;
  if (absl::StartsWith(w, "checker") || absl::StartsWith(w, "chequer")) return Texture::kChecker;
  if (w == "noisy" || w == "noise" || w == "grainy") return Texture::kNoise;
  return std::nullopt;
}

// The first word in [begin, end) that `parse` recognises.
template <typename T, typename Parse>
std::optional<T> First(const std::vector<std::string>& words, size_t begin, size_t end,
                       Parse parse) {
  for (size_t i = begin; i < end && i < words.size(); ++i) {
    if (std::optional<T> v = parse(words[i])) return v;
  }
  return std::nullopt;
}

}  // namespace

ExpectedAttributes ParseCaption(absl::string_view text) {
  std::string clean = absl::AsciiStrToLower(text);
  for (char& c : clean) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = ' ';
  }
  const std::vector<std::string> words = absl::StrSplit(clean, ' ', absl::SkipEmpty());

  size_t subject_end = words.size();
  ExpectedAttributes out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] != "background" && words[i] != "backdrop") continue;
    size_t on = i;
    while (on > 0 && words[on - 1] != "on") --on;
    if (on == 0) break;  // "background" without "on": no background phrase
    subject_end = on - 1;
    out.background_colour = First<Colour>(words, on, i, ColourWord);
    out.background_texture = First<Texture>(words, on, i, TextureWord).value_or(Texture::kSolid);
    break;
  }
  for (size_t i = 0; i < subject_end; ++i) {
    if (words[i] == "and") {
      subject_end = i;
      break;
    }
  }
  out.colour = First<Colour>(words, 0, subject_end, ColourWord);
  out.shape = First<Shape>(words, 0, subject_end, ShapeWord);
  out.size = First<Size>(words, 0, subject_end, SizeWord);
  out.motion = First<Motion>(words, 0, subject_end, MotionWord);
  return out;
}

}  // namespace vidserve::data

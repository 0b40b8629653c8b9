// The vocabulary shared by the synthetic clip generator, the caption parser and the clip
// detector: shapes, named colours with fixed RGB, sizes, motions and background textures,
// with the words captions use for them. Keeping one table means a caption the generator
// writes, the attributes the parser reads back and the labels the detector reports can
// never drift apart.
#ifndef VIDSERVE_DATA_CLIP_ATTRIBUTES_H_
#define VIDSERVE_DATA_CLIP_ATTRIBUTES_H_

#include <array>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace vidserve::data {

enum class Shape { kCircle, kSquare, kTriangle, kDiamond };
inline constexpr std::array<Shape, 4> kAllShapes = {Shape::kCircle, Shape::kSquare,
                                                    Shape::kTriangle, Shape::kDiamond};

// The first kNumObjectColours entries are the object palette (what the detector chooses
// among); black and grey exist only as background colours, so an object can never be
// confused with a dark or neutral backdrop.
enum class Colour { kRed, kGreen, kBlue, kYellow, kPurple, kCyan, kOrange, kWhite, kBlack, kGray };
inline constexpr int kNumObjectColours = 8;
inline constexpr int kNumColours = 10;

enum class Size { kSmall, kLarge };

// Motions are linear over the clip except kBounce, which reflects at the frame border.
enum class Motion { kStill, kLeft, kRight, kUp, kDown, kGrow, kShrink, kRotate, kBounce };
inline constexpr std::array<Motion, 9> kAllMotions = {
    Motion::kStill, Motion::kLeft,   Motion::kRight,  Motion::kUp,    Motion::kDown,
    Motion::kGrow,  Motion::kShrink, Motion::kRotate, Motion::kBounce};

enum class Texture { kSolid, kStripes, kChecker, kNoise };
inline constexpr std::array<Texture, 4> kAllTextures = {Texture::kSolid, Texture::kStripes,
                                                        Texture::kChecker, Texture::kNoise};

struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

Rgb PaletteRgb(Colour colour);
Colour ColourFromIndex(int index);  // REQUIRES: 0 <= index < kNumColours
// Squared Euclidean distance in RGB, the metric every colour decision in data/ uses.
int RgbDistanceSquared(Rgb a, Rgb b);

// Caption words. Motion phrases are verb phrases ("moving left", "growing").
absl::string_view ColourName(Colour colour);
absl::string_view ShapeName(Shape shape);
absl::string_view SizeName(Size size);
absl::string_view MotionPhrase(Motion motion);
// The adjective before "background"; empty for kSolid.
absl::string_view TextureAdjective(Texture texture);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_CLIP_ATTRIBUTES_H_

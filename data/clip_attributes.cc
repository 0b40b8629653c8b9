#include "data/clip_attributes.h"

namespace vidserve::data {
namespace {

// Chosen far apart in RGB (nearest pair, orange-yellow, is ~80 apart) so nearest-palette
// classification of a decoded pixel is unambiguous.
constexpr std::array<Rgb, kNumColours> kPalette = {{
    {220, 40, 40},    // red
    {40, 200, 60},    // green
    {40, 80, 220},    // blue
    {240, 220, 40},   // yellow
    {160, 60, 200},   // purple
    {40, 210, 220},   // cyan
    {250, 140, 30},   // orange
    {245, 245, 245},  // white
    {20, 20, 20},     // black
    {128, 128, 128},  // gray
}};

constexpr std::array<absl::string_view, kNumColours> kColourNames = {
    "red", "green", "blue", "yellow", "purple", "cyan", "orange", "white", "black", "gray"};

}  // namespace

Rgb PaletteRgb(Colour colour) { return kPalette[static_cast<int>(colour)]; }

Colour ColourFromIndex(int index) { return static_cast<Colour>(index); }

int RgbDistanceSquared(Rgb a, Rgb b) {
  const int dr = int(a.r) - int(b.r), dg = int(a.g) - int(b.g), db = int(a.b) - int(b.b);
  return dr * dr + dg * dg + db * db;
}

absl::string_view ColourName(Colour colour) { return kColourNames[static_cast<int>(colour)]; }

absl::string_view ShapeName(Shape shape) {
  switch (shape) {
    case Shape::kCircle: return "circle";
    case Shape::kSquare: return "square";
    case Shape::kTriangle: return "triangle";
    case Shape::kDiamond: return "diamond";
  }
  return "?";
}

absl::string_view SizeName(Size size) { return size == Size::kSmall ? "small" : "large"; }

absl::string_view MotionPhrase(Motion motion) {
  switch (motion) {
    case Motion::kStill: return "standing still";
    case Motion::kLeft: return "moving left";
    case Motion::kRight: return "moving right";
    case Motion::kUp: return "moving up";
    case Motion::kDown: return "moving down";
    case Motion::kGrow: return "growing";
    case Motion::kShrink: return "shrinking";
    case Motion::kRotate: return "rotating";
    case Motion::kBounce: return "bouncing";
  }
  return "?";
}

absl::string_view TextureAdjective(Texture texture) {
  switch (texture) {
    case Texture::kSolid: return "";
    case Texture::kStripes: return "striped";
    case Texture::kChecker: return "checkered";
    case Texture::kNoise: return "noisy";
  }
  return "?";
}

}  // namespace vidserve::data

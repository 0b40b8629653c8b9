// Maps a caption, or a user prompt using the same words, to the attributes a clip made
// from it should show: the quality metric compares these with what the clip detector
// sees. Only the first object counts (the caption's subject); attributes a prompt does not
// mention stay unset and are not scored.
//
// Pure functions; thread-safe.
#ifndef VIDSERVE_DATA_CAPTION_PARSER_H_
#define VIDSERVE_DATA_CAPTION_PARSER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "data/clip_attributes.h"

namespace vidserve::data {

struct ExpectedAttributes {
  std::optional<Colour> colour;
  std::optional<Shape> shape;
  std::optional<Size> size;
  std::optional<Motion> motion;
  std::optional<Colour> background_colour;
  std::optional<Texture> background_texture;  // kSolid when a background has no adjective
};

// Case- and punctuation-insensitive. The background phrase is what follows the last "on"
// before the word "background"; the subject is what precedes it, up to the first "and".
// Accepts a few synonyms ("magenta", "ball", "spinning", "to the right").
ExpectedAttributes ParseCaption(absl::string_view text);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_CAPTION_PARSER_H_

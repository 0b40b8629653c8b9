// A contact sheet: one still image that shows several clips side by side, one clip per row
// and one chosen frame per column, separated by a small gap. The quality report writes one
// of generated samples (rows = prompts) so a reader can judge them without a video player.
//
// The sheet is a one-frame media::VideoFrames (uint8 RGB). Cells sit on a regular grid with
// `gap_px` between neighbours and around the border:
//   width  = columns * clip_width  + (columns + 1) * gap_px
//   height = rows    * clip_height + (rows + 1)    * gap_px
// and cell (row, column) has its top-left pixel at
//   (gap_px + column * (clip_width + gap_px), gap_px + row * (clip_height + gap_px)).
//
// Thread-safety: pure functions of their arguments; safe to call concurrently.
#ifndef VIDSERVE_EVAL_CONTACT_SHEET_H_
#define VIDSERVE_EVAL_CONTACT_SHEET_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "media/video_frames.h"

namespace vidserve::eval {

struct ContactSheetOptions {
  std::vector<int> frame_indices = {0, 4, 8, 12, 16};  // columns, left to right
  int gap_px = 4;                                      // between cells and at the border
  uint8_t gap_grey = 255;  // gap colour (grey level): white sets off dark and light clips
};

// Pixel geometry of a sheet; see the header comment for the formulas.
struct ContactSheetLayout {
  int rows = 0;
  int columns = 0;
  int cell_height = 0;  // = clip height, pixels
  int cell_width = 0;   // = clip width, pixels
  int gap_px = 0;

  int SheetHeight() const { return rows * cell_height + (rows + 1) * gap_px; }
  int SheetWidth() const { return columns * cell_width + (columns + 1) * gap_px; }
  int CellTop(int row) const { return gap_px + row * (cell_height + gap_px); }
  int CellLeft(int column) const { return gap_px + column * (cell_width + gap_px); }
};

// InvalidArgument, naming the clip, index or option: no clips or no frame indices;
// gap_px < 0; a clip whose rgb size disagrees with its shape; clips of different height or
// width (both shapes given); a frame index outside [0, frames) of some clip.
absl::StatusOr<ContactSheetLayout> PlanContactSheet(absl::Span<const media::VideoFrames> clips,
                                                    const ContactSheetOptions& options = {});

// The sheet itself, frames = 1; errors as PlanContactSheet.
absl::StatusOr<media::VideoFrames> ComposeContactSheet(absl::Span<const media::VideoFrames> clips,
                                                       const ContactSheetOptions& options = {});

// Writes a composed sheet as PNG (media/png_io.h). Unimplemented in builds without libav
// (VIDSERVE_HAVE_FFMPEG undefined), whose message says so.
absl::Status WriteContactSheetPng(const std::string& path, const media::VideoFrames& sheet);
// False in builds without libav: lets a tool refuse --contact-sheet before a long run rather
// than fail at its end.
bool CanWriteContactSheetPng();

}  // namespace vidserve::eval

#endif  // VIDSERVE_EVAL_CONTACT_SHEET_H_

#include "eval/contact_sheet.h"

#include <cstring>

#include "absl/strings/str_cat.h"

#ifdef VIDSERVE_HAVE_FFMPEG
#include "media/png_io.h"
#endif

namespace vidserve::eval {

absl::StatusOr<ContactSheetLayout> PlanContactSheet(absl::Span<const media::VideoFrames> clips,
                                                    const ContactSheetOptions& options) {
  if (clips.empty()) return absl::InvalidArgumentError("contact sheet: no clips (rows)");
  if (options.frame_indices.empty()) {
    return absl::InvalidArgumentError("contact sheet: frame_indices is empty (no columns)");
  }
  if (options.gap_px < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("contact sheet: gap_px must be >= 0, got ", options.gap_px));
  }
  const media::VideoFrames& first = clips.front();
  for (size_t i = 0; i < clips.size(); ++i) {
    const media::VideoFrames& clip = clips[i];
    if (clip.frames < 1 || clip.height < 1 || clip.width < 1 ||
        clip.rgb.size() != clip.ExpectedBytes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "contact sheet: clip ", i, " is inconsistent (", clip.frames, "x", clip.height, "x",
          clip.width, " needs ", clip.ExpectedBytes(), " bytes, has ", clip.rgb.size(), " bytes)"));
    }
    if (clip.height != first.height || clip.width != first.width) {
      return absl::InvalidArgumentError(absl::StrCat(
          "contact sheet: clip ", i, " is ", clip.height, "x", clip.width, " but clip 0 is ",
          first.height, "x", first.width, " (height x width); every row needs the same size"));
    }
    for (int index : options.frame_indices) {
      if (index < 0 || index >= clip.frames) {
        return absl::InvalidArgumentError(absl::StrCat("contact sheet: frame index ", index,
                                                       " is outside clip ", i, "'s [0, ",
                                                       clip.frames, ")"));
      }
    }
  }
  ContactSheetLayout layout;
  layout.rows = static_cast<int>(clips.size());
  layout.columns = static_cast<int>(options.frame_indices.size());
  layout.cell_height = first.height;
  layout.cell_width = first.width;
  layout.gap_px = options.gap_px;
  return layout;
}

absl::StatusOr<media::VideoFrames> ComposeContactSheet(absl::Span<const media::VideoFrames> clips,
                                                       const ContactSheetOptions& options) {
  absl::StatusOr<ContactSheetLayout> layout = PlanContactSheet(clips, options);
  if (!layout.ok()) return layout.status();
  media::VideoFrames sheet;
  sheet.frames = 1;
  sheet.height = layout->SheetHeight();
  sheet.width = layout->SheetWidth();
  sheet.fps = clips.front().fps;
  sheet.rgb.assign(sheet.ExpectedBytes(), options.gap_grey);
  const size_t cell_row_bytes = static_cast<size_t>(layout->cell_width) * 3;
  for (int r = 0; r < layout->rows; ++r) {
    for (int c = 0; c < layout->columns; ++c) {
      const uint8_t* src = clips[r].Frame(options.frame_indices[c]);
      for (int y = 0; y < layout->cell_height; ++y) {
        uint8_t* dst =
            sheet.Frame(0) +
            (static_cast<size_t>(layout->CellTop(r) + y) * sheet.width + layout->CellLeft(c)) * 3;
        std::memcpy(dst, src + y * cell_row_bytes, cell_row_bytes);
      }
    }
  }
  return sheet;
}

absl::Status WriteContactSheetPng(const std::string& path, const media::VideoFrames& sheet) {
#ifdef VIDSERVE_HAVE_FFMPEG
  return media::WritePng(path, sheet);
#else
  (void)sheet;
  return absl::UnimplementedError(absl::StrCat(
      path,
      ": writing PNG needs libav, and this build has none (VIDSERVE_WITH_FFMPEG off or "
      "libav not found)"));
#endif
}

bool CanWriteContactSheetPng() {
#ifdef VIDSERVE_HAVE_FFMPEG
  return true;
#else
  return false;
#endif
}

}  // namespace vidserve::eval

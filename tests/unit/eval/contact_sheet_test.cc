#include "eval/contact_sheet.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#ifdef VIDSERVE_HAVE_FFMPEG
#include "media/png_io.h"
#endif

namespace vidserve::eval {
namespace {

// Every pixel of frame t of clip `id` is (id * 40, t * 10, 7): a cell's source is readable
// from its colour.
media::VideoFrames TaggedClip(int id, int frames, int height, int width) {
  media::VideoFrames v;
  v.frames = frames;
  v.height = height;
  v.width = width;
  v.rgb.resize(v.ExpectedBytes());
  for (int t = 0; t < frames; ++t) {
    for (size_t i = 0; i < v.FrameBytes(); i += 3) {
      v.Frame(t)[i] = static_cast<uint8_t>(id * 40);
      v.Frame(t)[i + 1] = static_cast<uint8_t>(t * 10);
      v.Frame(t)[i + 2] = 7;
    }
  }
  return v;
}

const uint8_t* Pixel(const media::VideoFrames& image, int x, int y) {
  return image.Frame(0) + (static_cast<size_t>(y) * image.width + x) * 3;
}

std::string TempPath(const std::string& name) {
  std::string base = ::testing::TempDir();
  if (!base.empty() && base.back() != '/') base += '/';
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return base + "vidserve_eval_" + info->name() + "_" + name;
}

TEST(ContactSheet, LayoutIsCellsPlusGapsBetweenAndAround) {
  const std::vector<media::VideoFrames> clips = {TaggedClip(0, 17, 16, 24),
                                                 TaggedClip(1, 17, 16, 24)};
  ContactSheetOptions options;  // columns 0, 4, 8, 12, 16
  options.gap_px = 3;
  absl::StatusOr<ContactSheetLayout> layout = PlanContactSheet(clips, options);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->rows, 2);
  EXPECT_EQ(layout->columns, 5);
  EXPECT_EQ(layout->SheetWidth(), 5 * 24 + 6 * 3);
  EXPECT_EQ(layout->SheetHeight(), 2 * 16 + 3 * 3);
  EXPECT_EQ(layout->CellLeft(0), 3);
  EXPECT_EQ(layout->CellLeft(2), 3 + 2 * 27);
  EXPECT_EQ(layout->CellTop(1), 3 + 19);
}

TEST(ContactSheet, PutsFrameOfColumnOfClipOfRowInEachCell) {
  const std::vector<media::VideoFrames> clips = {TaggedClip(1, 9, 8, 8), TaggedClip(2, 9, 8, 8),
                                                 TaggedClip(3, 9, 8, 8)};
  ContactSheetOptions options;
  options.frame_indices = {0, 8, 3};
  options.gap_px = 2;
  options.gap_grey = 255;
  absl::StatusOr<media::VideoFrames> sheet = ComposeContactSheet(clips, options);
  ASSERT_TRUE(sheet.ok()) << sheet.status();
  ASSERT_EQ(sheet->frames, 1);
  ASSERT_EQ(sheet->width, 3 * 8 + 4 * 2);
  ASSERT_EQ(sheet->height, 3 * 8 + 4 * 2);
  const ContactSheetLayout layout = *PlanContactSheet(clips, options);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      // First and last pixel of the cell.
      for (int corner = 0; corner < 2; ++corner) {
        const uint8_t* p =
            Pixel(*sheet, layout.CellLeft(c) + corner * 7, layout.CellTop(r) + corner * 7);
        EXPECT_EQ(p[0], (r + 1) * 40) << "row " << r << " column " << c;
        EXPECT_EQ(p[1], options.frame_indices[c] * 10) << "row " << r << " column " << c;
        EXPECT_EQ(p[2], 7);
      }
    }
  }
  // The border and the gap between cells are gap_grey.
  for (const auto& [x, y] : std::vector<std::pair<int, int>>{{0, 0}, {1, 5}, {10, 4}, {11, 11}}) {
    const uint8_t* p = Pixel(*sheet, x, y);
    EXPECT_EQ(p[0], 255);
    EXPECT_EQ(p[1], 255);
    EXPECT_EQ(p[2], 255);
  }
}

TEST(ContactSheet, RejectsBadInputNamingTheCulprit) {
  const std::vector<media::VideoFrames> mixed = {TaggedClip(0, 17, 16, 16),
                                                 TaggedClip(1, 17, 32, 16)};
  absl::StatusOr<ContactSheetLayout> layout = PlanContactSheet(mixed);
  ASSERT_EQ(layout.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(layout.status().message(), ::testing::HasSubstr("32x16"));
  EXPECT_THAT(layout.status().message(), ::testing::HasSubstr("16x16"));

  const std::vector<media::VideoFrames> short_clips = {TaggedClip(0, 9, 16, 16)};
  layout = PlanContactSheet(short_clips);  // default columns reach frame 16
  ASSERT_EQ(layout.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(layout.status().message(), ::testing::HasSubstr("frame index 12"));

  EXPECT_EQ(PlanContactSheet({}).status().code(), absl::StatusCode::kInvalidArgument);
  ContactSheetOptions negative_gap;
  negative_gap.gap_px = -1;
  EXPECT_THAT(PlanContactSheet(short_clips, negative_gap).status().message(),
              ::testing::HasSubstr("gap_px"));
}

#ifdef VIDSERVE_HAVE_FFMPEG
TEST(ContactSheet, WritesAPngThatReadsBackPixelExact) {
  const std::vector<media::VideoFrames> clips = {TaggedClip(1, 17, 16, 16),
                                                 TaggedClip(4, 17, 16, 16)};
  absl::StatusOr<media::VideoFrames> sheet = ComposeContactSheet(clips);
  ASSERT_TRUE(sheet.ok()) << sheet.status();
  const std::string path = TempPath("sheet.png");
  ASSERT_TRUE(WriteContactSheetPng(path, *sheet).ok());

  // PNG signature, then the IHDR chunk: big-endian width and height.
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), static_cast<uint32_t>(sheet->width));
  EXPECT_EQ(be32(20), static_cast<uint32_t>(sheet->height));

  absl::StatusOr<media::VideoFrames> read = media::ReadPng(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->width, sheet->width);
  EXPECT_EQ(read->height, sheet->height);
  EXPECT_TRUE(read->rgb == sheet->rgb);
  std::remove(path.c_str());
}
#else
TEST(ContactSheet, WritingWithoutLibavIsUnimplemented) {
  absl::StatusOr<media::VideoFrames> sheet = ComposeContactSheet({TaggedClip(0, 17, 16, 16)});
  ASSERT_TRUE(sheet.ok()) << sheet.status();
  EXPECT_EQ(WriteContactSheetPng(TempPath("sheet.png"), *sheet).code(),
            absl::StatusCode::kUnimplemented);
}
#endif

}  // namespace
}  // namespace vidserve::eval

#include "media/latent_file.h"

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media/file_util.h"
#include "tests/unit/media/test_util.h"

namespace vidserve::media {
namespace {

using ::testing::HasSubstr;
using testing::TempPath;

LatentFile SampleLatent(LatentDType dtype = LatentDType::kFloat32) {
  LatentFile l;
  l.dtype = dtype;
  l.shape = {4, 2, 3, 5};
  l.fps = 29.97;
  l.data.resize(4 * 2 * 3 * 5 * DTypeBytes(dtype));
  for (size_t i = 0; i < l.data.size(); ++i) l.data[i] = static_cast<char>(i * 7);
  return l;
}

TEST(LatentFile, RoundTripKeepsEverything) {
  for (LatentDType dtype : {LatentDType::kFloat32, LatentDType::kFloat16}) {
    const LatentFile in = SampleLatent(dtype);
    const std::string path = TempPath("x.latent");
    ASSERT_TRUE(WriteLatentFile(path, in).ok());
    absl::StatusOr<LatentFile> out = ReadLatentFile(path);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->dtype, dtype);
    EXPECT_EQ(out->shape, in.shape);
    EXPECT_DOUBLE_EQ(out->fps, 29.97);
    EXPECT_EQ(out->data, in.data);
  }
}

TEST(LatentFile, HeaderLayoutIsTheDocumentedOne) {
  absl::StatusOr<std::string> bytes = SerializeLatent(SampleLatent());
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 64u + 4 * 2 * 3 * 5 * 4);
  EXPECT_EQ(bytes->substr(0, 8), "VSLATENT");
  EXPECT_EQ((*bytes)[8], 1);    // version, little-endian
  EXPECT_EQ((*bytes)[12], 1);   // dtype float32
  EXPECT_EQ((*bytes)[16], 4);   // shape[0]
  EXPECT_EQ((*bytes)[24], 2);   // shape[1]
  EXPECT_EQ((*bytes)[56], static_cast<char>(480));  // data_bytes low byte (480 = 0x1e0)
  EXPECT_EQ((*bytes)[57], 1);
}

TEST(LatentFile, RejectsWrongMagic) {
  absl::StatusOr<LatentFile> l = ParseLatent("NOTLATENT and more bytes", "a.latent");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(l.status().message(), HasSubstr("a.latent: not a .latent file"));
}

TEST(LatentFile, RejectsTruncatedHeaderAndData) {
  std::string bytes = *SerializeLatent(SampleLatent());
  EXPECT_THAT(ParseLatent(bytes.substr(0, 40), "h.latent").status().message(),
              HasSubstr("truncated header"));
  EXPECT_THAT(ParseLatent(bytes.substr(0, bytes.size() - 1), "d.latent").status().message(),
              HasSubstr("truncated data: 479 of 480 bytes"));
  EXPECT_THAT(ParseLatent(bytes + "xx", "t.latent").status().message(),
              HasSubstr("2 unexpected bytes after the data"));
}

TEST(LatentFile, RejectsUnknownVersionAndDtype) {
  std::string bytes = *SerializeLatent(SampleLatent());
  std::string v2 = bytes;
  v2[8] = 2;
  EXPECT_THAT(ParseLatent(v2, "v.latent").status().message(),
              HasSubstr("unsupported .latent version 2"));
  std::string dt = bytes;
  dt[12] = 9;
  EXPECT_THAT(ParseLatent(dt, "d.latent").status().message(),
              HasSubstr("unsupported dtype code 9"));
}

TEST(LatentFile, RejectsShapeThatDisagreesWithDataBytes) {
  std::string bytes = *SerializeLatent(SampleLatent());
  bytes[16] = 5;  // channels 4 -> 5
  EXPECT_THAT(ParseLatent(bytes, "s.latent").status().message(),
              HasSubstr("header says 480 data bytes but shape [5, 2, 3, 5]"));
  std::string neg = *SerializeLatent(SampleLatent());
  std::memset(&neg[24], 0xff, 8);  // shape[1] = -1
  EXPECT_THAT(ParseLatent(neg, "n.latent").status().message(),
              HasSubstr("every dimension must be positive"));
}

TEST(LatentFile, WriterRejectsDataSizeMismatch) {
  LatentFile l = SampleLatent();
  l.data.pop_back();
  absl::Status s = WriteLatentFile(TempPath("bad.latent"), l);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("bad.latent"));
}

TEST(LatentFile, MissingFileIsNotFound) {
  EXPECT_EQ(ReadLatentFile("/nonexistent/x.latent").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vidserve::media

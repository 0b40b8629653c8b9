// `vidserve-bench detect` on real clip files: ground-truth renders of the synthetic
// generator are detected as their captions say, a caption given on the command line is
// scored instead of the file's own, and bad input is an error naming the file.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "data/synthetic_clip_folder.h"
#include "gtest/gtest.h"
#include "tests/unit/eval/bench_cli.h"

namespace vidserve::eval {
namespace {

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.front() == '{') lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

TEST(DetectBenchCli, DetectsGroundTruthClipsAsTheirCaptionsSay) {
  if (!std::filesystem::exists(BenchBinary())) GTEST_SKIP() << BenchBinary() << " is not built";
  const std::string dir = TempPath("clips");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(data::WriteSyntheticClipFolder(dir, {3, 4, 5, 6}).ok());
  std::string files;
  for (int seed : {3, 4, 5, 6}) files += absl::StrFormat(" %s/%010d.y4m", dir, seed);
  const std::string log = TempPath("log.txt");
  ASSERT_EQ(RunBenchCommand("detect", files, log), 0) << ReadFile(log);
  const std::vector<nlohmann::json> lines = JsonLines(ReadFile(log));
  ASSERT_EQ(lines.size(), 4u) << ReadFile(log);
  for (const nlohmann::json& line : lines) {
    SCOPED_TRACE(line.dump());
    EXPECT_FALSE(line.at("caption").get<std::string>().empty());
    ASSERT_FALSE(line.at("objects").empty());
    for (const char* attribute : {"colour", "shape", "motion"}) {
      EXPECT_TRUE(line.at("correct").at(attribute).get<bool>()) << attribute;
    }
    const nlohmann::json& subject = line.at("objects")[0];
    EXPECT_GE(subject.at("template_iou").at(subject.at("shape").get<std::string>()).get<double>(),
              0.75);
  }

  // --caption replaces the file's own: a colour no object has is wrong.
  const std::string first = absl::StrFormat("%s/%010d.y4m", dir, 3);
  const std::string detected_colour = lines[0].at("objects")[0].at("colour").get<std::string>();
  const std::string other_colour = detected_colour == "red" ? "green" : "red";
  ASSERT_EQ(RunBenchCommand("detect", "--caption 'a " + other_colour + " circle' " + first, log),
            0);
  const std::vector<nlohmann::json> recaptioned = JsonLines(ReadFile(log));
  ASSERT_EQ(recaptioned.size(), 1u) << ReadFile(log);
  EXPECT_FALSE(recaptioned[0].at("correct").at("colour").get<bool>());
  EXPECT_EQ(recaptioned[0].at("expected_shape"), "circle");
  std::filesystem::remove_all(dir);
}

TEST(DetectBenchCli, BadInputIsAnErrorNamingTheFile) {
  if (!std::filesystem::exists(BenchBinary())) GTEST_SKIP() << BenchBinary() << " is not built";
  const std::string log = TempPath("log.txt");
  EXPECT_EQ(RunBenchCommand("detect", "", log), 2);
  EXPECT_NE(ReadFile(log).find("no clip files"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(RunBenchCommand("detect", "--bogus x.y4m", log), 2);
  EXPECT_NE(ReadFile(log).find("--bogus"), std::string::npos) << ReadFile(log);
  const std::string missing = TempPath("missing.y4m");
  EXPECT_EQ(RunBenchCommand("detect", missing, log), 1);
  EXPECT_NE(ReadFile(log).find(missing), std::string::npos) << ReadFile(log);
}

}  // namespace
}  // namespace vidserve::eval

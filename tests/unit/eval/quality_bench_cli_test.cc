// End-to-end check of `vidserve-bench quality` on the random weights of the tiny preset: the
// pipeline runs and writes a well-formed report whose numbers lie in their ranges. Accuracy
// values mean nothing for random weights and are not asserted. The test runs the built
// binary (this test binary does not link the model) and skips when it has not been built.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/eval/bench_cli.h"

namespace vidserve::eval {
namespace {

int RunBench(const std::string& flags, const std::string& log) {
  return RunBenchCommand("quality", flags, log);
}

void ExpectAccuracyWellFormed(const nlohmann::json& accuracy, int clips, const std::string& what) {
  SCOPED_TRACE(what);
  const int correct = accuracy.at("correct").get<int>();
  const int scored = accuracy.at("scored").get<int>();
  EXPECT_GE(correct, 0);
  EXPECT_LE(correct, scored);
  EXPECT_LE(scored, clips);
  if (scored > 0) {
    EXPECT_NEAR(accuracy.at("percent").get<double>(), 100.0 * correct / scored, 1e-9);
  } else {
    EXPECT_TRUE(accuracy.at("percent").is_null());
  }
}

TEST(QualityBenchCli, RandomTinyModelProducesAWellFormedReport) {
  if (!std::filesystem::exists(BenchBinary())) {
    GTEST_SKIP() << BenchBinary() << " is not built";
  }
  const std::string json_path = TempPath("report.json");
  const std::string sheet_path = TempPath("sheet.png");
  const std::string log = TempPath("log.txt");
  const std::string dump_dir = TempPath("clips");
  std::filesystem::remove_all(dump_dir);
  std::string flags =
      "--device cpu --preset tiny --vae-clips 3 --prompts 3 --steps 2 --frames 5 --height 32 "
      "--width 32 --generation-batch 2 --vae-batch 2 --timing-batch 2 --timing-repeats 2 "
      "--decode-precision float16 --guidance-interval 0.4,0.9 --stochasticity 1.5 --json " +
      json_path + " --dump-clips " + dump_dir;
#ifdef VIDSERVE_HAVE_FFMPEG
  flags += " --sheet-prompts 4 --contact-sheet " + sheet_path;
#endif
  const int status = RunBench(flags, log);
  const std::string log_text = ReadFile(log);
  ASSERT_EQ(status, 0) << log_text;
  EXPECT_NE(log_text.find("comparison"), std::string::npos) << log_text;

  std::ifstream json_file(json_path);
  const nlohmann::json report = nlohmann::json::parse(json_file);
  EXPECT_EQ(report.at("command"), "quality");
  EXPECT_EQ(report.at("settings").at("prompt_decoder_source"),
            "the server's default for Generate requests that name no decoder");
  ExpectAccuracyWellFormed(report.at("ground_truth").at("colour"), 3, "ground truth colour");

  ASSERT_EQ(report.at("checkpoints").size(), 1u);
  const nlohmann::json& checkpoint = report.at("checkpoints")[0];
  EXPECT_FALSE(checkpoint.at("trained").get<bool>());
  EXPECT_EQ(checkpoint.at("mixers")[0], "softmax");
  EXPECT_GT(checkpoint.at("parameters").at("denoiser").get<int64_t>(), 0);

  const nlohmann::json& reconstruction = checkpoint.at("reconstruction");
  EXPECT_EQ(reconstruction.at("clips"), 3);
  int texture_clips = 0;
  for (const auto& [texture, summary] : reconstruction.at("by_texture").items()) {
    texture_clips += summary.at("clips").get<int>();
  }
  EXPECT_EQ(texture_clips, 3);
  for (const char* decoder : {"full", "thin"}) {
    const double psnr = reconstruction.at(decoder).at("psnr_db").get<double>();
    const double ssim = reconstruction.at(decoder).at("ssim").get<double>();
    EXPECT_GT(psnr, 0) << decoder;
    EXPECT_LE(psnr, 100) << decoder;
    EXPECT_GE(ssim, -1) << decoder;
    EXPECT_LE(ssim, 1) << decoder;
  }
  const nlohmann::json& timing = checkpoint.at("decode_timing");
  EXPECT_GT(timing.at("full_ms").get<double>(), 0);
  EXPECT_GT(timing.at("thin_ms").get<double>(), 0);
  EXPECT_TRUE(std::isfinite(timing.at("thin_speedup").get<double>()));
  // --decode-precision applies on CUDA only; the CPU reports what it ran.
  EXPECT_EQ(timing.at("decode_precision"), "float32");

  const nlohmann::json& following = checkpoint.at("prompt_following");
  EXPECT_EQ(following.at("clips"), 3);
  // The sampler flags replace the preset's settings, and the report says what ran.
  EXPECT_EQ(following.at("sampler").at("guidance_min_t"), 0.4);
  EXPECT_EQ(following.at("sampler").at("guidance_max_t"), 0.9);
  EXPECT_EQ(following.at("sampler").at("stochasticity"), 1.5);
  EXPECT_EQ(following.at("sampler").at("timestep_shift"), 1.0);
  EXPECT_EQ(following.at("samples").size(), 3u);
  for (const nlohmann::json& sample : following.at("samples")) {
    // "judged" is the object the prompt's subject was scored on: its shape is the subject's
    // exactly when shape_correct says so.
    const std::string prompt = sample.at("prompt").get<std::string>();
    const std::string subject = prompt.substr(0, std::min(prompt.find(" and "), prompt.find(" on ")));
    const nlohmann::json& judged_shape = sample.at("judged").at("shape");
    const bool judged_is_subjects =
        judged_shape.is_string() &&
        subject.find(" " + judged_shape.get<std::string>()) != std::string::npos;
    EXPECT_EQ(judged_is_subjects, sample.at("shape_correct").get<bool>()) << prompt;
    EXPECT_TRUE(sample.at("judged").contains("motion"));
  }
  for (const char* attribute : {"colour", "shape", "motion", "all_named"}) {
    ExpectAccuracyWellFormed(following.at(attribute), 3, attribute);
  }
  const double consistency = following.at("temporal_consistency").at("score").get<double>();
  EXPECT_GE(consistency, 0);
  EXPECT_LE(consistency, 1);
  // The detector's earlier shape rule, beside the template fit, on the same clips.
  ExpectAccuracyWellFormed(following.at("shape_radial_rule"), 3, "radial rule, generated");
  EXPECT_EQ(following.at("shape_radial_rule").at("scored"), following.at("shape").at("scored"));
  ExpectAccuracyWellFormed(checkpoint.at("reconstruction_detection").at("shape_radial_rule"), 3,
                           "radial rule, reconstructions");

  // --dump-clips: the renders and their captions once, each checkpoint's clips in its folder.
  for (int i = 0; i < 3; ++i) {
    const std::string n = "000" + std::to_string(i);
    for (const std::string& path :
         {dump_dir + "/truth-" + n + ".y4m", dump_dir + "/truth-" + n + ".txt",
          dump_dir + "/ckpt1/recon-" + n + ".y4m", dump_dir + "/ckpt1/gen-" + n + ".y4m"}) {
      EXPECT_TRUE(std::filesystem::exists(path)) << path;
    }
  }
  EXPECT_EQ(ReadFile(dump_dir + "/truth-0000.txt"),
            following.at("samples")[0].at("prompt").get<std::string>() + "\n");
  std::filesystem::remove_all(dump_dir);

#ifdef VIDSERVE_HAVE_FFMPEG
  // Four rows (more than --prompts: the sheet generates the extra ones) of five frames.
  const nlohmann::json& sheet = report.at("contact_sheet");
  EXPECT_EQ(sheet.at("rows").size(), 4u);
  EXPECT_EQ(sheet.at("frames"), nlohmann::json({0, 1, 2, 3, 4}));
  const int gap = sheet.at("gap_px").get<int>();
  EXPECT_EQ(sheet.at("width"), 5 * 32 + 6 * gap);
  EXPECT_EQ(sheet.at("height"), 4 * 32 + 5 * gap);
  EXPECT_TRUE(std::filesystem::exists(sheet_path));
#endif
  for (const std::string& path : {json_path, sheet_path, log}) std::remove(path.c_str());
}

TEST(QualityBenchCli, LaterCheckpointsArePairedWithTheFirstClipByClip) {
  if (!std::filesystem::exists(BenchBinary())) {
    GTEST_SKIP() << BenchBinary() << " is not built";
  }
  // The shipped model twice: the same prompts and seeds, so each clip pairs with its
  // identical twin.
  const std::string shipped = std::string(VIDSERVE_SOURCE_DIR) + "/models/vidserve-tiny";
  const std::string json_path = TempPath("paired.json");
  const std::string log = TempPath("paired-log.txt");
  const int status = RunBench("--device cpu --checkpoint " + shipped + " --checkpoint " + shipped +
                                  " --vae-clips 1 --prompts 4 --steps 2 --frames 5 --height 32 "
                                  "--width 32 --timing-repeats 1 --json " + json_path,
                              log);
  const std::string log_text = ReadFile(log);
  ASSERT_EQ(status, 0) << log_text;
  EXPECT_NE(log_text.find("#2 vs #1, clip by clip"), std::string::npos) << log_text;
  std::ifstream json_file(json_path);
  const nlohmann::json report = nlohmann::json::parse(json_file);
  ASSERT_EQ(report.at("paired_vs_first").size(), 1u);
  const nlohmann::json& paired = report.at("paired_vs_first")[0].at("attributes");
  for (const char* attribute : {"colour", "shape", "motion"}) {
    const nlohmann::json& a = paired.at(attribute);
    // Identical models: nothing gained or lost, and every scored clip is in a diagonal cell.
    EXPECT_EQ(a.at("gained"), 0) << attribute;
    EXPECT_EQ(a.at("lost"), 0) << attribute;
    EXPECT_EQ(a.at("p_value"), 1.0) << attribute;
    const int scored = report.at("checkpoints")[0].at("prompt_following").at(attribute).at(
        "scored");
    EXPECT_EQ(a.at("both_right").get<int>() + a.at("both_wrong").get<int>(), scored)
        << attribute;
  }
  for (const std::string& path : {json_path, log}) std::remove(path.c_str());
}

TEST(QualityBenchCli, RejectsBadFlagsAndMissingPathsBeforeAnyWork) {
  if (!std::filesystem::exists(BenchBinary())) {
    GTEST_SKIP() << BenchBinary() << " is not built";
  }
  const std::string log = TempPath("log.txt");
  EXPECT_EQ(RunBench("--frames 16", log), 2);
  EXPECT_EQ(RunBench("--prompts 0", log), 2);
  EXPECT_EQ(RunBench("--decoder wide", log), 2);
  EXPECT_EQ(RunBench("--decode-precision fp8", log), 2);
  EXPECT_EQ(RunBench("--no-such-flag 1", log), 2);
  EXPECT_EQ(RunBench("--json /nonexistent/dir/report.json", log), 2);
  EXPECT_EQ(RunBench("--guidance-interval 0.3", log), 2);
  EXPECT_EQ(RunBench("--guidance-interval 0.8,0.2", log), 2);
  EXPECT_NE(ReadFile(log).find("sampler.guidance_max_t"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(RunBench("--stochasticity 7", log), 2);
  EXPECT_NE(ReadFile(log).find("sampler.stochasticity: must be in [0, 4], got 7"),
            std::string::npos)
      << ReadFile(log);
  EXPECT_EQ(RunBench("--checkpoint /nonexistent/model.safetensors", log), 2);
  const std::string log_text = ReadFile(log);
  EXPECT_NE(log_text.find("/nonexistent/model.safetensors"), std::string::npos) << log_text;
  std::remove(log.c_str());
}

}  // namespace
}  // namespace vidserve::eval

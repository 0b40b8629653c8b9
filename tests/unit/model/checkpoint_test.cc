#include "model/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "model/video_model.h"
#include "model/video_network.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;

const bool kTwoThreads = [] {
  at::set_num_threads(2);
  return true;
}();

std::string TempPath(const std::string& name) {
  const auto dir = std::filesystem::path(::testing::TempDir()) /
                   ("vidserve_checkpoint_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// A raw safetensors file with the given header and data bytes.
void WriteRaw(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

void WriteRaw(const std::string& path, const std::string& header, size_t zero_bytes) {
  WriteRaw(path, header, std::string(zero_bytes, '\0'));
}

VideoModel::Options TinyOptions() {
  VideoModel::Options options;
  options.config = *LoadPreset("tiny");
  options.device = "cpu";
  options.init_seed = 5;
  options.num_threads = 2;
  return options;
}

Latent RunSmallGeneration(VideoModel& model) {
  GenerationParams p;
  p.prompt = "a lighthouse";
  p.frames = 5;
  p.height = 16;
  p.width = 16;
  p.steps = 2;
  p.seed = 9;
  auto g = *model.StartGeneration(p);
  while (!g->finished()) {
    Generation* batch[] = {g.get()};
    EXPECT_TRUE(model.DenoiseStep(batch).ok());
  }
  return *model.FinalLatent(*g);
}

TEST(Checkpoint, RoundTripThroughTheFacadeGivesIdenticalOutputs) {
  const auto options = TinyOptions();
  auto network = *BuildVideoNetwork(options.config, options.init_seed, /*adaln_zero_init=*/false);
  CheckpointInfo info;
  info.trained = true;
  info.metrics["psnr_db"] = 27.123456789;
  const std::string dir = std::filesystem::path(TempPath("roundtrip")).string();
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(SaveVideoNetwork(dir + "/model.safetensors", network, options.config, info,
                               CheckpointDtype::kFloat32)
                  .ok());

  auto random_model = *VideoModel::Create(options);
  auto loaded_options = TinyOptions();
  loaded_options.init_seed = 12345;      // must not matter: weights come from the file
  loaded_options.checkpoint_path = dir;  // a directory holding model.safetensors
  auto loaded = VideoModel::Create(loaded_options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const ModelInfo& loaded_info = (*loaded)->info();
  EXPECT_TRUE(loaded_info.trained);
  EXPECT_EQ(loaded_info.checkpoint, dir + "/model.safetensors");
  EXPECT_DOUBLE_EQ(loaded_info.metrics.at("psnr_db"), 27.123456789);
  EXPECT_EQ(ModelConfigToJson(loaded_info.config), ModelConfigToJson(options.config));
  EXPECT_EQ(loaded_info.denoiser_parameters, random_model->info().denoiser_parameters);

  EXPECT_EQ(RunSmallGeneration(**loaded).data, RunSmallGeneration(*random_model).data);
  Latent latent;
  latent.shape = {8, 1, 2, 2};
  latent.data.assign(latent.NumElements(), 0.25f);
  const Latent* latents[] = {&latent};
  EXPECT_EQ((*(*loaded)->Decode(latents, DecoderKind::kThin, 24))[0].rgb,
            (*random_model->Decode(latents, DecoderKind::kThin, 24))[0].rgb);
}

TEST(Checkpoint, Float16SaveHalvesTheFileAndLoadsClose) {
  torch::manual_seed(0);
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"a", torch::randn({64, 64})},
                                                                {"b.c", torch::randn({3})}};
  const std::string f32 = TempPath("f32.safetensors"), f16 = TempPath("f16.safetensors");
  ASSERT_TRUE(WriteSafetensors(f32, tensors, {{"k", "v"}}, CheckpointDtype::kFloat32).ok());
  ASSERT_TRUE(WriteSafetensors(f16, tensors, {{"k", "v"}}, CheckpointDtype::kFloat16).ok());
  EXPECT_LT(std::filesystem::file_size(f16), std::filesystem::file_size(f32) * 6 / 10);
  auto exact = *ReadSafetensors(f32);
  auto half = *ReadSafetensors(f16);
  EXPECT_EQ(exact.metadata.at("k"), "v");
  EXPECT_TRUE(torch::equal(exact.tensors.at("a"), tensors[0].second));
  EXPECT_EQ(half.tensors.at("a").scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(half.tensors.at("a"), tensors[0].second, 1e-3, 1e-3));
}

TEST(Checkpoint, Float16CheckpointServes) {
  const auto options = TinyOptions();
  auto network = *BuildVideoNetwork(options.config, 1, /*adaln_zero_init=*/false);
  const std::string path = TempPath("fp16_model.safetensors");
  ASSERT_TRUE(SaveVideoNetwork(path, network, options.config, {}, CheckpointDtype::kFloat16).ok());
  auto loaded_options = TinyOptions();
  loaded_options.checkpoint_path = path;
  auto model = VideoModel::Create(loaded_options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->info().trained);
  EXPECT_EQ(RunSmallGeneration(**model).shape, (std::array<int64_t, 4>{8, 2, 2, 2}));
}

TEST(Checkpoint, TruncatedFileIsDataLoss) {
  const std::string path = TempPath("truncated.safetensors");
  ASSERT_TRUE(
      WriteSafetensors(path, {{"w", torch::ones({100})}}, {}, CheckpointDtype::kFloat32).ok());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  auto result = ReadSafetensors(path);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("'w'"));
  EXPECT_THAT(result.status().message(), HasSubstr("out of range"));

  std::filesystem::resize_file(path, 5);
  EXPECT_THAT(ReadSafetensors(path).status().message(), HasSubstr("truncated"));
  std::filesystem::resize_file(path, 20);  // header length claims more than the file has
  EXPECT_EQ(ReadSafetensors(path).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Checkpoint, BadHeaderJsonIsDataLoss) {
  const std::string path = TempPath("badjson.safetensors");
  WriteRaw(path, "{\"w\": {\"dtype\": \"F32\", ", 0);
  auto result = ReadSafetensors(path);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("JSON"));
}

TEST(Checkpoint, ReadsBfloat16AsFloat32) {
  const std::string path = TempPath("bf16.safetensors");
  // bf16 1.0 = 0x3F80, 2.0 = 0x4000, little-endian.
  WriteRaw(path, R"({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})",
           std::string("\x80\x3F\x00\x40", 4));
  auto result = ReadSafetensors(path);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(torch::equal(result->tensors.at("w"), torch::tensor({1.0f, 2.0f})));
}

TEST(Checkpoint, UnsupportedDtypeNamesTensorAndDtype) {
  const std::string path = TempPath("i64.safetensors");
  WriteRaw(path, R"({"step": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", 8);
  auto result = ReadSafetensors(path);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("'step'"));
  EXPECT_THAT(result.status().message(), HasSubstr("I64"));
}

TEST(Checkpoint, OffsetsThatDisagreeWithShapeAreRejected) {
  const std::string path = TempPath("offsets.safetensors");
  WriteRaw(path, R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}})", 16);
  auto result = ReadSafetensors(path);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("'w'"));
  EXPECT_THAT(result.status().message(), HasSubstr("needs 16"));
}

class ModuleStateTest : public ::testing::Test {
 protected:
  ModuleStateTest() : linear_(torch::nn::Linear(3, 2)) {}
  std::map<std::string, torch::Tensor> State() {
    std::map<std::string, torch::Tensor> state;
    for (auto& [name, t] : ModuleStateDict(*linear_)) state[name] = t.detach().clone();
    return state;
  }
  torch::nn::Linear linear_;
};

TEST_F(ModuleStateTest, MissingTensorIsNamedWithItsShape) {
  auto state = State();
  state.erase("bias");
  auto status = LoadModuleState(*linear_, state, "x.safetensors");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("missing tensor(s): 'bias' (expected shape [2])"));
}

TEST_F(ModuleStateTest, UnexpectedTensorIsNamed) {
  auto state = State();
  state["extra.weight"] = torch::zeros({1});
  auto status = LoadModuleState(*linear_, state, "x.safetensors");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("unexpected tensor(s) (model/config mismatch?): 'extra.weight'"));
}

TEST_F(ModuleStateTest, ShapeMismatchNamesExpectedAndFound) {
  auto state = State();
  state["weight"] = torch::zeros({2, 4});
  const auto before = linear_->weight.clone();
  auto status = LoadModuleState(*linear_, state, "x.safetensors");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("'weight': shape mismatch: expected [2, 3], found [2, 4]"));
  EXPECT_TRUE(torch::equal(linear_->weight, before));  // nothing changed
}

TEST_F(ModuleStateTest, MatchingStateLoads) {
  auto state = State();
  state["weight"].fill_(0.5);
  ASSERT_TRUE(LoadModuleState(*linear_, state, "x.safetensors").ok());
  EXPECT_EQ(linear_->weight.sum().item<float>(), 3.0f);
}

TEST(Checkpoint, FacadeReportsAMismatchedCheckpointByTensorName) {
  // A checkpoint whose tensors do not match its own embedded config.
  auto options = TinyOptions();
  auto network = *BuildVideoNetwork(options.config, 0, true);
  auto state = ModuleStateDict(*network);
  state.erase(state.begin());
  const std::string path = TempPath("incomplete.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, state,
                               {{"vidserve_config", ModelConfigToJson(options.config)}},
                               CheckpointDtype::kFloat32)
                  .ok());
  options.checkpoint_path = path;
  auto model = VideoModel::Create(options);
  ASSERT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("missing tensor(s): 'encoder."));

  ASSERT_TRUE(WriteSafetensors(path, state, {}, CheckpointDtype::kFloat32).ok());
  EXPECT_THAT(VideoModel::Create(options).status().message(), HasSubstr("vidserve_config"));
}

TEST(Checkpoint, CopyMatchingTensorsSkipsOnlyWhatChangedShape) {
  // Only the output convolution differs between these decoders (3 vs 12 output channels).
  torch::manual_seed(0);
  VaeDecoder from(VaeDecoderOptions().latent_channels(8));
  torch::manual_seed(1);
  VaeDecoder to(VaeDecoderOptions().latent_channels(8).output_patch(2));
  const auto before = ModuleStateDict(*to);
  std::map<std::string, torch::Tensor> kept;
  for (const auto& [name, tensor] : before) kept[name] = tensor.clone();
  const MatchingCopy copied = CopyMatchingTensors(*from, *to);
  EXPECT_EQ(copied.total, static_cast<int>(before.size()));
  EXPECT_EQ(copied.copied, copied.total - 2);
  std::map<std::string, torch::Tensor> source;
  for (const auto& [name, tensor] : ModuleStateDict(*from)) source[name] = tensor;
  for (const auto& [name, tensor] : ModuleStateDict(*to)) {
    if (name.rfind("conv_out.", 0) == 0) {
      EXPECT_TRUE(torch::equal(tensor, kept.at(name))) << name;
    } else {
      EXPECT_TRUE(torch::equal(tensor, source.at(name))) << name;
    }
  }
}

}  // namespace
}  // namespace vidserve

#include "server/server_config.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const std::string& yaml) {
  absl::StatusOr<ServerConfig> config = ParseServerConfigYaml(yaml);
  EXPECT_FALSE(config.ok()) << "accepted: " << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(ServerConfig, EmptyDocumentGivesDocumentedDefaults) {
  absl::StatusOr<ServerConfig> config = ParseServerConfigYaml("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:50051");
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:8002");
  EXPECT_EQ(config->model.dir, "");
  EXPECT_EQ(config->model.preset, "tiny");
  EXPECT_EQ(config->model.device, "auto");
  EXPECT_EQ(config->model.num_threads, 0);
  EXPECT_EQ(config->scheduler.max_batch_size, 8);
  EXPECT_EQ(config->scheduler.max_queue_delay_us, 0);
  EXPECT_EQ(config->scheduler.max_queue_size, 64);
  EXPECT_EQ(config->scheduler.max_active_generations, 8);
  EXPECT_EQ(config->limits.max_message_bytes, 268435456);
  EXPECT_EQ(config->drain_timeout_ms, 30000);
  EXPECT_TRUE(config->warmup);
}

TEST(ServerConfig, ShippedDeployFileParsesToTheDefaults) {
  std::ifstream in(std::string(VIDSERVE_SOURCE_DIR) + "/deploy/vidserve.yaml");
  ASSERT_TRUE(in) << "deploy/vidserve.yaml missing";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<ServerConfig> shipped = ParseServerConfigYaml(text);
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  const ServerConfig defaults;
  EXPECT_EQ(shipped->listen, defaults.listen);
  EXPECT_EQ(shipped->metrics_listen, defaults.metrics_listen);
  EXPECT_EQ(shipped->model.preset, defaults.model.preset);
  EXPECT_EQ(shipped->model.cuda_graph_cache_size, defaults.model.cuda_graph_cache_size);
  EXPECT_EQ(shipped->model.cudnn_benchmark, defaults.model.cudnn_benchmark);
  EXPECT_EQ(shipped->model.decode_precision, defaults.model.decode_precision);
  EXPECT_EQ(shipped->model.decode_channels_last, defaults.model.decode_channels_last);
  EXPECT_EQ(shipped->model.decode_conv2d, defaults.model.decode_conv2d);
  EXPECT_EQ(shipped->model.decode_direct_conv, defaults.model.decode_direct_conv);
  EXPECT_EQ(shipped->model.fused_norm, defaults.model.fused_norm);
  EXPECT_EQ(shipped->model.chunk_latent_voxels, defaults.model.chunk_latent_voxels);
  EXPECT_EQ(shipped->scheduler.max_batch_size, defaults.scheduler.max_batch_size);
  EXPECT_EQ(shipped->scheduler.max_queue_delay_us, defaults.scheduler.max_queue_delay_us);
  EXPECT_EQ(shipped->limits.max_message_bytes, defaults.limits.max_message_bytes);
  EXPECT_EQ(shipped->drain_timeout_ms, defaults.drain_timeout_ms);
}

TEST(ServerConfig, ReadsEveryKey) {
  absl::StatusOr<ServerConfig> config = ParseServerConfigYaml(R"(
listen: 0.0.0.0:6000
metrics_listen: "127.0.0.1:0"
model: {dir: /models/x, preset: seed, device: "cuda:1", num_threads: 3, init_seed: 7,
        chunk_latent_voxels: 65536,
        cuda_graph_cache_size: 0, cudnn_benchmark: false, decode_precision: float16,
        decode_channels_last: true, decode_conv2d: true, decode_direct_conv: false,
        fused_norm: false,
        sampler: {timestep_shift: 2, guidance_min_t: 0.25, guidance_max_t: 0.9, stochasticity: 1.5}}
scheduler: {max_batch_size: 4, max_queue_delay_us: 500, max_queue_size: 10, max_active_generations: 2}
limits: {max_message_bytes: 1048576}
drain_timeout_ms: 1000
warmup: false
warmup_batch_size: 3
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:6000");
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:0");
  EXPECT_EQ(config->model.dir, "/models/x");
  EXPECT_EQ(config->model.preset, "seed");
  EXPECT_EQ(config->model.device, "cuda:1");
  EXPECT_EQ(config->model.num_threads, 3);
  EXPECT_EQ(config->model.init_seed, 7u);
  EXPECT_EQ(config->model.cuda_graph_cache_size, 0);
  EXPECT_FALSE(config->model.cudnn_benchmark);
  EXPECT_EQ(config->model.decode_precision, "float16");
  EXPECT_TRUE(config->model.decode_channels_last);
  EXPECT_TRUE(config->model.decode_conv2d);
  EXPECT_FALSE(config->model.decode_direct_conv);
  EXPECT_FALSE(config->model.fused_norm);
  EXPECT_EQ(config->model.chunk_latent_voxels, 65536);
  EXPECT_EQ(config->model.sampler.timestep_shift, 2.0);
  EXPECT_EQ(config->model.sampler.guidance_min_t, 0.25);
  EXPECT_EQ(config->model.sampler.guidance_max_t, 0.9);
  EXPECT_EQ(config->model.sampler.stochasticity, 1.5);
  EXPECT_EQ(config->scheduler.max_batch_size, 4);
  EXPECT_EQ(config->scheduler.max_queue_delay_us, 500);
  EXPECT_EQ(config->scheduler.max_queue_size, 10);
  EXPECT_EQ(config->scheduler.max_active_generations, 2);
  EXPECT_EQ(config->limits.max_message_bytes, 1048576);
  EXPECT_EQ(config->drain_timeout_ms, 1000);
  EXPECT_FALSE(config->warmup);
  EXPECT_EQ(config->warmup_batch_size, 3);
}

TEST(ServerConfig, UnknownTopLevelKeyIsNamed) {
  EXPECT_THAT(ErrorOf("listn: 1.2.3.4:5"), HasSubstr("listn: unknown key"));
}

TEST(ServerConfig, UnknownNestedKeyIsNamedWithItsPath) {
  EXPECT_THAT(ErrorOf("scheduler: {max_batch: 4}"), HasSubstr("scheduler.max_batch: unknown key"));
  EXPECT_THAT(ErrorOf("model: {devise: cpu}"), HasSubstr("model.devise: unknown key"));
}

TEST(ServerConfig, OutOfRangeValuesNameTheKeyRangeAndValue) {
  EXPECT_EQ(ErrorOf("scheduler: {max_batch_size: 0}"),
            "scheduler.max_batch_size: must be in [1, 256], got 0");
  EXPECT_THAT(ErrorOf("scheduler: {max_batch_size: 257}"), HasSubstr("got 257"));
  EXPECT_THAT(ErrorOf("scheduler: {max_queue_delay_us: -1}"),
              HasSubstr("scheduler.max_queue_delay_us: must be in [0, 10000000], got -1"));
  EXPECT_THAT(ErrorOf("scheduler: {max_queue_size: 0}"), HasSubstr("scheduler.max_queue_size"));
  EXPECT_THAT(ErrorOf("scheduler: {max_active_generations: 0}"),
              HasSubstr("scheduler.max_active_generations"));
  EXPECT_THAT(ErrorOf("limits: {max_message_bytes: 10}"), HasSubstr("limits.max_message_bytes"));
  EXPECT_THAT(ErrorOf("drain_timeout_ms: -5"), HasSubstr("drain_timeout_ms"));
  EXPECT_THAT(ErrorOf("model: {num_threads: -2}"), HasSubstr("model.num_threads"));
  EXPECT_EQ(ErrorOf("model: {chunk_latent_voxels: -1}"),
            "model.chunk_latent_voxels: must be in [0, 1073741824], got -1");
  EXPECT_EQ(ErrorOf("model: {cuda_graph_cache_size: -1}"),
            "model.cuda_graph_cache_size: must be in [0, 1024], got -1");
  // Bounded by the batch size the scheduler can form.
  EXPECT_EQ(ErrorOf("scheduler: {max_batch_size: 4}\nwarmup_batch_size: 5"),
            "warmup_batch_size: must be in [0, 4] (0 = automatic, at most "
            "scheduler.max_batch_size), got 5");
  EXPECT_THAT(ErrorOf("warmup_batch_size: -1"), HasSubstr("warmup_batch_size: must be in [0, 8]"));
  EXPECT_EQ(ErrorOf("model: {decode_precision: fp8}"),
            "model.decode_precision: must be float32, float16 or bfloat16, got \"fp8\"");
  EXPECT_EQ(ErrorOf("model: {sampler: {stochasticity: 9}}"),
            "model.sampler.stochasticity: must be in [0, 4], got 9");
  EXPECT_EQ(ErrorOf("model: {sampler: {guidance_min_t: 1.5}}"),
            "model.sampler.guidance_min_t: must be in [0, 1], got 1.5");
  EXPECT_THAT(ErrorOf("model: {sampler: {guidance_min_t: 0.6, guidance_max_t: 0.5}}"),
              HasSubstr("model.sampler.guidance_max_t"));
}

TEST(ServerConfig, SamplerKeysAreOptionalTypedAndKnown) {
  absl::StatusOr<ServerConfig> none = ParseServerConfigYaml("model: {sampler: {}}");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->model.sampler.stochasticity.has_value());
  EXPECT_FALSE(none->model.sampler.guidance_min_t.has_value());
  EXPECT_THAT(ErrorOf("model: {sampler: {stochasticity: lots}}"),
              HasSubstr("model.sampler.stochasticity: must be a number, got \"lots\""));
  EXPECT_THAT(ErrorOf("model: {sampler: {eta: 1}}"), HasSubstr("model.sampler.eta: unknown key"));
}

TEST(ServerConfig, WrongTypesNameTheKey) {
  EXPECT_THAT(ErrorOf("scheduler: {max_batch_size: eight}"),
              HasSubstr("scheduler.max_batch_size: must be an integer, got \"eight\""));
  EXPECT_THAT(ErrorOf("warmup: maybe"), HasSubstr("warmup: must be true or false"));
  EXPECT_THAT(ErrorOf("scheduler: 3"), HasSubstr("scheduler: must be a mapping"));
  EXPECT_THAT(ErrorOf("listen: [a, b]"), HasSubstr("listen: must be a string"));
}

TEST(ServerConfig, BadAddressesAndDevicesAreNamed) {
  EXPECT_THAT(ErrorOf("listen: localhost"), HasSubstr("listen: must be HOST:PORT"));
  EXPECT_THAT(ErrorOf("metrics_listen: 'h:99999'"), HasSubstr("metrics_listen: port must be"));
  EXPECT_THAT(ErrorOf("model: {device: tpu}"),
              HasSubstr("model.device: must be auto, cpu, cuda or cuda:N, got \"tpu\""));
}

TEST(ServerConfig, InvalidYamlIsReported) {
  EXPECT_THAT(ErrorOf("listen: [unclosed"), HasSubstr("YAML"));
}

TEST(ServerConfig, MissingFileNamesThePath) {
  absl::StatusOr<ServerConfig> config = LoadServerConfigFile("/nonexistent/vidserve.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("/nonexistent/vidserve.yaml"));
}

TEST(ServerConfig, FlagOverridesReplaceOnlyTheGivenKeys) {
  absl::StatusOr<ServerConfig> base = ParseServerConfigYaml("scheduler: {max_queue_size: 5}");
  ASSERT_TRUE(base.ok());
  ServerConfigOverrides overrides;
  overrides.listen = "127.0.0.1:0";
  overrides.metrics_listen = "127.0.0.1:0";
  overrides.model_dir = "/ckpt";
  overrides.device = "cpu";
  overrides.preset = "seed";
  overrides.max_batch_size = 2;
  overrides.max_queue_delay_us = 0;
  overrides.num_threads = 1;
  absl::StatusOr<ServerConfig> config = ApplyServerConfigOverrides(*base, overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:0");
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:0");
  EXPECT_EQ(config->model.dir, "/ckpt");
  EXPECT_EQ(config->model.device, "cpu");
  EXPECT_EQ(config->model.preset, "seed");
  EXPECT_EQ(config->scheduler.max_batch_size, 2);
  EXPECT_EQ(config->scheduler.max_queue_delay_us, 0);
  EXPECT_EQ(config->model.num_threads, 1);
  EXPECT_EQ(config->scheduler.max_queue_size, 5);  // untouched
}

TEST(ServerConfig, InvalidFlagOverrideIsNamedLikeTheYamlKey) {
  ServerConfigOverrides overrides;
  overrides.max_batch_size = 0;
  absl::StatusOr<ServerConfig> config = ApplyServerConfigOverrides(ServerConfig{}, overrides);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "scheduler.max_batch_size: must be in [1, 256], got 0");
  overrides = {};
  overrides.device = "gpu";
  EXPECT_THAT(std::string(ApplyServerConfigOverrides(ServerConfig{}, overrides).status().message()),
              HasSubstr("model.device"));
}

TEST(ParseHostPort, SplitsHostAndPortIncludingIpv6) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("listen", "127.0.0.1:50051", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 50051);
  ASSERT_TRUE(ParseHostPort("listen", "[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
}

}  // namespace
}  // namespace vidserve

namespace vidserve {
namespace {

TEST(ServerConfig, RelativeModelDirIsRelativeToTheConfigFile) {
  const std::string dir = ::testing::TempDir() + "/config_dir_test";
  std::filesystem::create_directories(dir + "/conf");
  std::ofstream(dir + "/conf/a.yaml") << "model: {dir: ../models/m}\n";
  std::ofstream(dir + "/conf/b.yaml") << "model: {dir: /abs/m}\n";
  absl::StatusOr<ServerConfig> relative = LoadServerConfigFile(dir + "/conf/a.yaml");
  ASSERT_TRUE(relative.ok()) << relative.status();
  EXPECT_EQ(relative->model.dir, (std::filesystem::path(dir) / "models/m").lexically_normal().string());
  absl::StatusOr<ServerConfig> absolute = LoadServerConfigFile(dir + "/conf/b.yaml");
  ASSERT_TRUE(absolute.ok()) << absolute.status();
  EXPECT_EQ(absolute->model.dir, "/abs/m");
}

TEST(ServerConfig, ShippedDeployFileServesTheShippedCheckpoint) {
  absl::StatusOr<ServerConfig> shipped =
      LoadServerConfigFile(std::string(VIDSERVE_SOURCE_DIR) + "/deploy/vidserve.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_TRUE(std::filesystem::exists(shipped->model.dir + "/model.safetensors"))
      << shipped->model.dir;
}

}  // namespace
}  // namespace vidserve

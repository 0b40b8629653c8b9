#include "server/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, TextContainsEveryDesignedName) {
  auto metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RecordRequest(Method::kEncode, "OK", 0.01);
  const std::string text = (*metrics)->Serialize();
  for (const char* name :
       {"vidserve_requests_total", "vidserve_request_duration_seconds_bucket",
        "vidserve_queue_duration_seconds_bucket", "vidserve_compute_duration_seconds_bucket",
        "vidserve_batch_size_bucket", "vidserve_inflight_requests", "vidserve_queue_depth",
        "vidserve_time_to_first_frame_seconds_bucket", "vidserve_generated_frames_total",
        "vidserve_denoise_steps_total", "vidserve_process_resident_memory_bytes",
        "vidserve_build_info", "vidserve_decode_network_seconds_bucket",
        "vidserve_decode_copy_out_seconds_bucket"}) {
    EXPECT_THAT(text, HasSubstr(name)) << name;
  }
}

TEST(Metrics, RequestsAreCountedByMethodAndCode) {
  auto metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RecordRequest(Method::kDecode, "INVALID_ARGUMENT", 0.001);
  (*metrics)->RecordRequest(Method::kDecode, "INVALID_ARGUMENT", 0.001);
  EXPECT_THAT((*metrics)->Serialize(),
              HasSubstr("vidserve_requests_total{code=\"INVALID_ARGUMENT\",method=\"decode\"} 2"));
}

TEST(Metrics, DecodePartsAreObservedPerDecoderWithSubMillisecondBuckets) {
  auto metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RecordDecodeParts(DecoderKind::kThin, 0.0004, 0.003);
  const std::string text = (*metrics)->Serialize();
  EXPECT_THAT(text, HasSubstr("vidserve_decode_network_seconds_count{decoder=\"thin\"} 1"));
  EXPECT_THAT(text, HasSubstr("vidserve_decode_network_seconds_count{decoder=\"full\"} 0"));
  EXPECT_THAT(text, HasSubstr("vidserve_decode_copy_out_seconds_count{decoder=\"thin\"} 1"));
  // 0.4 ms lands in the 0.5 ms bucket, not the 0.25 ms one; 3 ms in 5 ms.
  EXPECT_THAT(
      text, HasSubstr("vidserve_decode_network_seconds_bucket{decoder=\"thin\",le=\"0.0005\"} 1"));
  EXPECT_THAT(
      text, HasSubstr("vidserve_decode_network_seconds_bucket{decoder=\"thin\",le=\"0.00025\"} 0"));
  EXPECT_THAT(
      text, HasSubstr("vidserve_decode_copy_out_seconds_bucket{decoder=\"thin\",le=\"0.005\"} 1"));
  EXPECT_THAT(
      text, HasSubstr("vidserve_decode_copy_out_seconds_bucket{decoder=\"thin\",le=\"0.0025\"} 0"));
}

TEST(Metrics, BatchSizeHistogramUsesSmallIntegerBuckets) {
  auto metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RecordCompute(Method::kEncode, 0.1, 3);
  const std::string text = (*metrics)->Serialize();
  EXPECT_THAT(text, HasSubstr("vidserve_batch_size_bucket{method=\"encode\",le=\"2\"} 0"));
  EXPECT_THAT(text, HasSubstr("vidserve_batch_size_bucket{method=\"encode\",le=\"3\"} 1"));
  EXPECT_THAT(text, HasSubstr("vidserve_batch_size_sum{method=\"encode\"} 3"));
}

TEST(Metrics, ResidentMemoryIsReadAtScrapeTime) {
  auto metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  const std::string text = (*metrics)->Serialize();
  EXPECT_THAT(text, Not(HasSubstr("vidserve_process_resident_memory_bytes 0\n")));
}

TEST(Metrics, GpuGaugesExistOnlyWithADevice) {
  auto cpu = Metrics::Create({});
  ASSERT_TRUE(cpu.ok());
  EXPECT_THAT((*cpu)->Serialize(), Not(HasSubstr("vidserve_gpu_memory")));
  Metrics::Options options;
  options.device = "cuda:0";
  options.cuda = "true";
  auto gpu = Metrics::Create(options);
  ASSERT_TRUE(gpu.ok());
  (*gpu)->SetGpuMemory(1, 2, 3, 4);
  const std::string text = (*gpu)->Serialize();
  EXPECT_THAT(text, HasSubstr("vidserve_gpu_memory_allocated_bytes{device=\"cuda:0\"} 1"));
  EXPECT_THAT(text, HasSubstr("vidserve_gpu_memory_reserved_bytes{device=\"cuda:0\"} 2"));
  EXPECT_THAT(text, HasSubstr("vidserve_gpu_memory_peak_bytes{device=\"cuda:0\"} 3"));
  EXPECT_THAT(text, HasSubstr("vidserve_gpu_memory_total_bytes{device=\"cuda:0\"} 4"));
  EXPECT_THAT(text, HasSubstr("cuda=\"true\""));
}

}  // namespace
}  // namespace vidserve

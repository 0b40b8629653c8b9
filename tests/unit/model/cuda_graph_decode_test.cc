// Decode through CUDA graphs (VideoModel::Options::cuda_graph_cache_size) must give the
// bytes an eager decode gives, for every decoder and shape, in any order, and after the
// cache evicted a graph. The GPU tests skip without a usable CUDA device (CI has none).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/video_model.h"

#ifdef VIDSERVE_HAVE_CUDA
#include "model/cuda/dependent_launch.h"
#endif

namespace vidserve {
namespace {

// The same random weights for every model of a comparison.
VideoModel::Options TestOptions(const std::string& device, int graph_cache_size) {
  VideoModel::Options options;
  options.config = *LoadPreset("tiny");
  options.device = device;
  options.init_seed = 11;
  options.cuda_graph_cache_size = graph_cache_size;
  // Autotuning may pick different convolution algorithms for the two models, and with
  // them different float rounding; the comparisons are about graphs and decode variants,
  // so keep it off.
  options.cudnn_benchmark = false;
  return options;
}

std::unique_ptr<VideoModel> MakeModel(const std::string& device, int graph_cache_size) {
  auto created = VideoModel::Create(TestOptions(device, graph_cache_size));
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? std::move(*created) : nullptr;
}

Latent MakeLatent(int64_t channels, int64_t frames, int64_t height, int64_t width, int seed) {
  Latent latent;
  latent.shape = {channels, frames, height, width};
  latent.data.resize(latent.NumElements());
  uint64_t state = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (float& v : latent.data) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>(static_cast<int64_t>(state >> 40) % 2001 - 1000) / 500.0f;
  }
  return latent;
}

struct Request {
  DecoderKind decoder;
  std::vector<Latent> latents;
};

std::vector<std::vector<uint8_t>> DecodeBytes(VideoModel& model, const Request& request) {
  std::vector<const Latent*> ptrs;
  for (const Latent& l : request.latents) ptrs.push_back(&l);
  auto clips = model.Decode(ptrs, request.decoder, 24.0);
  EXPECT_TRUE(clips.ok()) << clips.status();
  std::vector<std::vector<uint8_t>> out;
  if (clips.ok()) {
    for (const VideoClip& c : *clips) out.push_back(c.rgb);
  }
  return out;
}

// DecodeTimings splits a Decode call into parts without changing its result: on the CPU
// (wall time) and on CUDA through a graph replay (CUDA events), each part is positive and
// within the whole call's wall time.
TEST(DecodeTimings, PartsFitInTheCallAndLeaveTheBytesAlone) {
  std::vector<std::string> devices = {"cpu"};
  if (CudaAvailable()) devices.push_back("cuda");
  for (const std::string& device : devices) {
    auto model = MakeModel(device, 8);
    ASSERT_NE(model, nullptr);
    const int64_t c = model->info().config.vae.latent_channels;
    const Request request{DecoderKind::kThin,
                          {MakeLatent(c, 2, 4, 4, 5), MakeLatent(c, 2, 4, 4, 6)}};
    std::vector<const Latent*> ptrs;
    for (const Latent& l : request.latents) ptrs.push_back(&l);
    for (int call = 0; call < 3; ++call) {  // eager, capture, replay on CUDA
      const auto want = DecodeBytes(*model, request);
      VideoModel::DecodeTimings timings;
      const auto start = std::chrono::steady_clock::now();
      auto clips = model->Decode(ptrs, request.decoder, 24.0, &timings);
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ASSERT_TRUE(clips.ok()) << clips.status();
      ASSERT_EQ(clips->size(), want.size());
      // A replay may round a .5 boundary the other way from the eager call it follows.
      const int allowed = device == "cpu" ? 0 : 1;
      for (size_t j = 0; j < want.size(); ++j) {
        ASSERT_EQ((*clips)[j].rgb.size(), want[j].size());
        int largest = 0;
        for (size_t k = 0; k < want[j].size(); ++k) {
          largest = std::max(largest, std::abs(int((*clips)[j].rgb[k]) - int(want[j][k])));
        }
        EXPECT_LE(largest, allowed) << device << " call " << call << " clip " << j;
      }
      EXPECT_GT(timings.network_seconds, 0) << device;
      EXPECT_GE(timings.output_seconds, 0) << device;
      EXPECT_LE(timings.network_seconds + timings.output_seconds, wall) << device;
    }
  }
}

TEST(CudaGraphDecode, OffOnCpu) {
  auto model = MakeModel("cpu", 8);
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(model->info().cuda_graph_decode);
}

TEST(CudaGraphDecode, ReplaysMatchEagerDecodesInAnyOrderAndAfterEviction) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  auto eager = MakeModel("cuda", 0);
  auto graphs = MakeModel("cuda", 2);  // three keys below: every round evicts one
  ASSERT_NE(eager, nullptr);
  ASSERT_NE(graphs, nullptr);
  EXPECT_FALSE(eager->info().cuda_graph_decode);
  EXPECT_TRUE(graphs->info().cuda_graph_decode);
  const int64_t c = eager->info().config.vae.latent_channels;
  std::vector<Request> requests;
  for (int round = 0; round < 3; ++round) {
    // Fresh values every round: a replay must read this call's latents, not the capture's.
    requests.push_back({DecoderKind::kFull, {MakeLatent(c, 2, 4, 4, 10 * round)}});
    requests.push_back({DecoderKind::kThin, {MakeLatent(c, 2, 4, 4, 10 * round + 1)}});
    requests.push_back(
        {DecoderKind::kFull,
         {MakeLatent(c, 3, 2, 6, 10 * round + 2), MakeLatent(c, 3, 2, 6, 10 * round + 3)}});
    // Same key as the first: replayed while still cached.
    requests.push_back({DecoderKind::kFull, {MakeLatent(c, 2, 4, 4, 10 * round + 4)}});
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto want = DecodeBytes(*eager, requests[i]);
    const auto got = DecodeBytes(*graphs, requests[i]);
    ASSERT_EQ(got.size(), want.size()) << "request " << i;
    for (size_t j = 0; j < got.size(); ++j) {
      ASSERT_EQ(got[j].size(), want[j].size());
      // Same kernels in the same order: equal up to a rounding step at a .5 boundary.
      int64_t off_by_more_than_one = 0;
      for (size_t k = 0; k < got[j].size(); ++k) {
        off_by_more_than_one += std::abs(int(got[j][k]) - int(want[j][k])) > 1;
      }
      EXPECT_EQ(off_by_more_than_one, 0) << "request " << i << " clip " << j;
    }
  }
}

// Page-locked staging (Options::decode_page_locked_max_bytes) changes how bytes travel,
// never which: a batch decoded through page-locked and through pageable host memory is the
// same, byte for byte, with graphs and without.
TEST(CudaGraphDecode, PageLockedAndPageableCopiesGiveTheSameBytes) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  for (int graphs : {0, 4}) {
    std::vector<std::vector<std::vector<uint8_t>>> results;
    for (int64_t max_bytes : {int64_t{0}, int64_t{1} << 30}) {
      VideoModel::Options options = TestOptions("cuda", graphs);
      options.decode_page_locked_max_bytes = max_bytes;
      auto model = VideoModel::Create(options);
      ASSERT_TRUE(model.ok()) << model.status();
      const int64_t c = (*model)->info().config.vae.latent_channels;
      const Request request{DecoderKind::kThin,
                            {MakeLatent(c, 3, 4, 6, 7), MakeLatent(c, 3, 4, 6, 8)}};
      results.push_back(DecodeBytes(**model, request));
    }
    ASSERT_EQ(results[0].size(), 2u);
    EXPECT_EQ(results[0], results[1]) << (graphs > 0 ? "graphs" : "eager");
  }
}

// Programmatic dependent launch (model/cuda/dependent_launch.h) lets vidserve's kernels
// start before the kernel ahead of them ends; it must change when they run, never what they
// compute: with it and without, eager and through graphs, both decoders give the same bytes.
// A kernel that read its input before waiting for the kernel that writes it would show here
// as bytes that differ (or differ from run to run).
TEST(CudaGraphDecode, DependentLaunchGivesTheSameBytes) {
#ifndef VIDSERVE_HAVE_CUDA
  GTEST_SKIP() << "built without CUDA";
#else
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  cuda_kernels::SetDependentLaunchAllowed(false);
  EXPECT_FALSE(cuda_kernels::DependentLaunchEnabled());
  for (int graphs : {0, 4}) {
    std::vector<std::vector<std::vector<uint8_t>>> results;
    for (bool allowed : {false, true, true}) {
      cuda_kernels::SetDependentLaunchAllowed(allowed);
      auto model = MakeModel("cuda", graphs);
      ASSERT_NE(model, nullptr);
      const int64_t c = model->info().config.vae.latent_channels;
      std::vector<std::vector<uint8_t>> bytes;
      for (DecoderKind decoder : {DecoderKind::kThin, DecoderKind::kFull}) {
        // Twice the same shape: a graph replay after its capture.
        for (int seed : {1, 2}) {
          const Request request{decoder, {MakeLatent(c, 3, 4, 6, seed), MakeLatent(c, 3, 4, 6, seed + 5)}};
          for (auto& clip : DecodeBytes(*model, request)) bytes.push_back(std::move(clip));
        }
      }
      results.push_back(std::move(bytes));
    }
    ASSERT_EQ(results[0].size(), 8u);
    EXPECT_EQ(results[1], results[0]) << (graphs > 0 ? "graphs" : "eager");
    EXPECT_EQ(results[2], results[0]) << (graphs > 0 ? "graphs" : "eager") << ", second model";
  }
  cuda_kernels::SetDependentLaunchAllowed(true);
#endif
}

// VideoModel::Options::decode_fold_upsampling reads the thin decoder's upsampling through
// in the narrow kernels instead of copying it: the same bytes, eager and through graphs, for
// one clip and a batch, with the full decoder (no narrow layer after an upsampling)
// unchanged. decode_fold_norms applies norms in the convolution before them: the same
// arithmetic up to float rounding, so bytes within one level.
TEST(CudaGraphDecode, FoldedUpsamplingAndNormsKeepTheBytes) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  for (int graphs : {0, 4}) {
    std::vector<std::vector<std::vector<uint8_t>>> results;
    const std::vector<std::pair<bool, bool>> folds = {
        {false, false}, {true, false}, {false, true}, {true, true}};
    for (const auto& [fold_upsampling, fold_norms] : folds) {
      VideoModel::Options options = TestOptions("cuda", graphs);
      options.decode_fold_upsampling = fold_upsampling;
      options.decode_fold_norms = fold_norms;
      auto model = VideoModel::Create(options);
      ASSERT_TRUE(model.ok()) << model.status();
      EXPECT_EQ((*model)->info().decode_fold_upsampling, fold_upsampling);
      EXPECT_EQ((*model)->info().decode_fold_norms, fold_norms);
      const int64_t c = (*model)->info().config.vae.latent_channels;
      std::vector<std::vector<uint8_t>> bytes;
      for (DecoderKind decoder : {DecoderKind::kThin, DecoderKind::kFull}) {
        for (const Request& request :
             {Request{decoder, {MakeLatent(c, 3, 4, 6, 3)}},
              Request{decoder, {MakeLatent(c, 2, 2, 4, 4), MakeLatent(c, 2, 2, 4, 5)}}}) {
          for (auto& clip : DecodeBytes(**model, request)) bytes.push_back(std::move(clip));
        }
      }
      results.push_back(std::move(bytes));
    }
    const std::string mode = graphs > 0 ? "graphs" : "eager";
    ASSERT_EQ(results[0].size(), 6u);
    EXPECT_EQ(results[1], results[0]) << mode << ", upsampling folded";
    for (size_t r : {size_t{2}, size_t{3}}) {
      ASSERT_EQ(results[r].size(), results[0].size());
      for (size_t j = 0; j < results[0].size(); ++j) {
        ASSERT_EQ(results[r][j].size(), results[0][j].size());
        int64_t off_by_more_than_one = 0;
        for (size_t k = 0; k < results[0][j].size(); ++k) {
          off_by_more_than_one += std::abs(int(results[r][j][k]) - int(results[0][j][k])) > 1;
        }
        EXPECT_EQ(off_by_more_than_one, 0) << mode << ", norms folded, variant " << r
                                            << " clip " << j;
      }
    }
  }
}

TEST(CudaDecodeVariants, OffOnCpu) {
  VideoModel::Options options = TestOptions("cpu", 8);
  options.decode_precision = DecodePrecision::kFloat16;
  options.decode_channels_last = true;
  options.decode_conv2d = true;
  auto model = VideoModel::Create(options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->info().decode_precision, DecodePrecision::kFloat32);
  EXPECT_FALSE((*model)->info().decode_channels_last);
  EXPECT_FALSE((*model)->info().decode_conv2d);
}

// Half precision, channels-last and conv2d lowering change rounding, not the decode: every
// variant, eager and through graphs, stays within a few byte levels of eager float32.
TEST(CudaDecodeVariants, StayCloseToFloat32Bytes) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  // The reference runs LibTorch's convolutions only; the variants use the direct
  // narrow-conv kernel wherever it applies (the default).
  VideoModel::Options reference_options = TestOptions("cuda", 0);
  reference_options.decode_direct_conv = false;
  auto created = VideoModel::Create(reference_options);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<VideoModel> reference = std::move(*created);
  EXPECT_FALSE(reference->info().decode_direct_conv);
  const int64_t c = reference->info().config.vae.latent_channels;
  const std::vector<Request> requests = {
      {DecoderKind::kFull, {MakeLatent(c, 3, 4, 4, 1), MakeLatent(c, 3, 4, 4, 2)}},
      {DecoderKind::kThin, {MakeLatent(c, 3, 4, 4, 3), MakeLatent(c, 3, 4, 4, 4)}}};
  for (DecodePrecision precision :
       {DecodePrecision::kFloat32, DecodePrecision::kFloat16, DecodePrecision::kBFloat16}) {
    for (bool channels_last : {false, true}) {
      for (bool conv2d : {false, true}) {
        for (int graphs : {0, 4}) {
          VideoModel::Options options = TestOptions("cuda", graphs);
          options.decode_precision = precision;
          options.decode_channels_last = channels_last;
          options.decode_conv2d = conv2d;
          auto model = VideoModel::Create(options);
          ASSERT_TRUE(model.ok()) << model.status();
          EXPECT_EQ((*model)->info().decode_precision, precision);
          // The kernel takes NCDHW convolutions: not with channels-last or conv2d.
          EXPECT_EQ((*model)->info().decode_direct_conv, !channels_last && !conv2d);
          const std::string variant = std::string(DecodePrecisionName(precision)) +
                                      (channels_last ? " channels_last" : "") +
                                      (conv2d ? " conv2d" : "") + (graphs > 0 ? " graphs" : "");
          for (const Request& request : requests) {
            const auto want = DecodeBytes(*reference, request);
            const auto got = DecodeBytes(**model, request);
            ASSERT_EQ(got.size(), want.size()) << variant;
            for (size_t j = 0; j < got.size(); ++j) {
              ASSERT_EQ(got[j].size(), want[j].size()) << variant;
              int max_diff = 0;
              double sum_diff = 0;
              for (size_t k = 0; k < got[j].size(); ++k) {
                const int d = std::abs(int(got[j][k]) - int(want[j][k]));
                max_diff = std::max(max_diff, d);
                sum_diff += d;
              }
              // Random weights make a noisy, high-contrast output: bf16's 8-bit mantissa
              // alone moves bytes by a few levels. The mean stays far below one level.
              EXPECT_LE(max_diff, precision == DecodePrecision::kBFloat16 ? 24 : 8) << variant;
              EXPECT_LT(sum_diff / got[j].size(), 1.0) << variant;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace vidserve

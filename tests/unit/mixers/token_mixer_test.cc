// Specifications every token mixer meets whatever its kind, checked through the factory the
// denoiser uses (MakeTokenMixer).
#include "model/mixers/token_mixer.h"

#include <string>

#include <gtest/gtest.h>

namespace vidserve {
namespace {

class EveryTokenMixer : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryTokenMixer, IsCausalUnlessBidirectional) {
  TokenMixerOptions options;
  options.kind = GetParam();
  options.dim = 32;
  options.num_heads = 4;
  options.loglinear_chunk_size = 8;
  options.mesa_chunk_size = 8;
  options.mesa_cg_steps = 8;
  for (bool bidirectional : {false, true}) {
    options.bidirectional = bidirectional;
    torch::manual_seed(7);
    auto mixer = MakeTokenMixer(options);
    ASSERT_TRUE(mixer.ok()) << mixer.status();
    EXPECT_EQ((*mixer)->kind(), GetParam());
    auto x = torch::randn({2, 41, 32});
    auto y = (*mixer)->forward(x);
    ASSERT_EQ(y.sizes(), x.sizes());
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    auto x2 = x.clone();
    x2.select(1, 30).add_(1.0);
    auto y2 = (*mixer)->forward(x2);
    EXPECT_EQ(torch::allclose(y.narrow(1, 0, 30), y2.narrow(1, 0, 30)), !bidirectional)
        << "bidirectional=" << bidirectional;
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, EveryTokenMixer,
                         ::testing::Values("softmax", "loglinear", "mesa"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace vidserve

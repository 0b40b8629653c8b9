#include "server/half_float.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace vidserve {
namespace {

TEST(HalfFloat, ConvertsExactValuesBothWays) {
  const struct {
    float value;
    uint16_t half;
  } cases[] = {{0.0f, 0x0000},
               {-0.0f, 0x8000},
               {1.0f, 0x3c00},
               {-2.0f, 0xc000},
               {0.5f, 0x3800},
               {65504.0f, 0x7bff},
               {6.103515625e-05f, 0x0400},
               {5.9604644775390625e-08f, 0x0001}};  // smallest normal, smallest subnormal
  for (const auto& c : cases) {
    EXPECT_EQ(FloatToHalf(c.value), c.half) << c.value;
    EXPECT_EQ(HalfToFloat(c.half), c.value) << c.half;
  }
}

TEST(HalfFloat, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to the even one.
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
}

TEST(HalfFloat, OverflowsToInfinityAndKeepsNan) {
  EXPECT_EQ(FloatToHalf(1e6f), 0x7c00);
  EXPECT_EQ(FloatToHalf(-1e6f), 0xfc00);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_EQ(FloatToHalf(1e-9f), 0x0000);  // underflows to zero
}

TEST(HalfFloat, EveryFiniteHalfRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t half = static_cast<uint16_t>(h);
    if ((half & 0x7c00) == 0x7c00) continue;  // inf / NaN
    ASSERT_EQ(FloatToHalf(HalfToFloat(half)), half) << std::hex << h;
  }
}

}  // namespace
}  // namespace vidserve

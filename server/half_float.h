// IEEE 754 binary16 <-> binary32 conversion for float16 latents on the wire. Round to
// nearest even, overflow to infinity, subnormals and NaN preserved; small enough that it is
// not worth a dependency.
//
// Thread-safety: pure functions.
#ifndef VIDSERVE_SERVER_HALF_FLOAT_H_
#define VIDSERVE_SERVER_HALF_FLOAT_H_

#include <cstdint>

namespace vidserve {

float HalfToFloat(uint16_t half);
uint16_t FloatToHalf(float value);

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_HALF_FLOAT_H_

// splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixing 64-bit hash whose output is
// the same on every platform, unlike std:: distributions. The generator's seeds, the
// training batcher's epoch permutations and the quality bench's generation seeds all
// derive from it.
#ifndef VIDSERVE_DATA_SPLITMIX64_H_
#define VIDSERVE_DATA_SPLITMIX64_H_

#include <cstdint>

namespace vidserve::data {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_SPLITMIX64_H_

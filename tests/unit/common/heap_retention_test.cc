// RetainFreedHeapMemory (common/heap_retention.h): a freed video-sized block stays in the
// heap and the next one reuses it, and an operator's GLIBC_TUNABLES take precedence.
#include "common/heap_retention.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace vidserve {
namespace {

#if defined(__GLIBC__)
// Where the blocks escape to, so that the compiler cannot drop a malloc/free pair.
void* volatile g_escaped = nullptr;

// Writes every page, as a decoded clip's bytes are written, so the block is really there.
void* Touched(size_t bytes) {
  void* p = std::malloc(bytes);
  std::memset(p, 1, bytes);
  g_escaped = p;
  return p;
}

TEST(HeapRetention, AFreedClipSizedBlockStaysInTheHeapForTheNext) {
  if (MallocTunablesSetByOperator()) GTEST_SKIP() << "GLIBC_TUNABLES sets malloc here";
  ASSERT_TRUE(RetainFreedHeapMemory());
  constexpr size_t kClipBytes = size_t{17} * 256 * 256 * 3;  // a 17x256x256 clip, 3.3 MB
  std::free(Touched(kClipBytes));
  // glibc's defaults would have mapped the block on its own and unmapped it on free.
  const struct mallinfo2 after_free = mallinfo2();
  EXPECT_GE(after_free.fordblks, kClipBytes);
  void* again = Touched(kClipBytes);
  EXPECT_EQ(mallinfo2().arena, after_free.arena) << "the heap grew instead of reusing";
  std::free(again);
}
#endif

TEST(HeapRetention, LeavesAnOperatorsMallocTunablesAlone) {
  const char* previous = std::getenv("GLIBC_TUNABLES");
  const std::string saved = previous != nullptr ? previous : "";
  setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0", 1);
  EXPECT_TRUE(MallocTunablesSetByOperator());
  EXPECT_FALSE(RetainFreedHeapMemory());
  setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);  // not malloc's
  EXPECT_FALSE(MallocTunablesSetByOperator());
  if (previous != nullptr) {
    setenv("GLIBC_TUNABLES", saved.c_str(), 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
}

}  // namespace
}  // namespace vidserve

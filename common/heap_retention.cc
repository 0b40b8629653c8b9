#include "common/heap_retention.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace vidserve {

bool MallocTunablesSetByOperator() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}

bool RetainFreedHeapMemory(const HeapRetentionOptions& options) {
#if defined(__GLIBC__)
  if (MallocTunablesSetByOperator()) return false;
  // mallopt returns 1 on success. Setting M_MMAP_THRESHOLD also turns off glibc's dynamic
  // threshold, which otherwise rises only after a mapped block has been freed.
  bool ok = mallopt(M_MMAP_THRESHOLD, options.mmap_threshold_bytes) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, options.trim_threshold_bytes) == 1 && ok;
  return ok;
#else
  (void)options;
  return false;
#endif
}

}  // namespace vidserve

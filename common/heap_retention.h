// Keeps freed heap memory in the process for reuse instead of handing it back to the kernel
// at once: glibc malloc settings for a server that allocates and frees video-sized buffers
// on every request. A decoded 65x256x256 clip is 12.8 MB of RGB bytes; with glibc's
// defaults each such buffer is mapped fresh (or the heap top trimmed and regrown), and the
// kernel zero-fills and faults in every page again on each request. Measured on an H200
// host (BENCHMARKS.md section 3): a 65x256x256 x 8 thin Decode took 78 ms with glibc's
// defaults and 54 ms with these settings, the full decoder's 145 and 112 ms; on 2 CPU cores
// the thin decoder's 17x64x64 x 8 decode was 16-19% faster, the rest within the noise.
// The price: the process keeps its peak heap (up to trim_threshold_bytes free at the top)
// resident instead of shrinking after a burst (on that CPU bench, 18-180 MiB more peak RSS).
// Thread-safety: call once at startup, before other threads allocate.
#ifndef VIDSERVE_COMMON_HEAP_RETENTION_H_
#define VIDSERVE_COMMON_HEAP_RETENTION_H_

namespace vidserve {

struct HeapRetentionOptions {
  // Blocks below this are carved from the heap (reusable) rather than mapped on their own.
  // 32 MiB is glibc's ceiling on 64-bit systems: a 65x256x256 clip fits under it.
  int mmap_threshold_bytes = 32 << 20;
  // Free memory at the top of the heap up to this stays mapped (about 2 GiB: in effect
  // never trimmed).
  int trim_threshold_bytes = 0x7fffffff;
  // glibc's M_TOP_PAD (extra space per heap growth) stays at its default: 256 MiB of it was
  // no faster on 2 CPU cores and raised peak RSS by 180-250 MiB (BENCHMARKS.md section 3).
};

// Whether GLIBC_TUNABLES sets any glibc.malloc.* tunable (the operator's malloc settings).
bool MallocTunablesSetByOperator();

// Applies `options` with mallopt. Returns false, changing nothing, where malloc is not
// glibc's or where the operator has set glibc.malloc.* tunables in GLIBC_TUNABLES (theirs
// win); true when glibc accepted every setting.
bool RetainFreedHeapMemory(const HeapRetentionOptions& options = {});

}  // namespace vidserve

#endif  // VIDSERVE_COMMON_HEAP_RETENTION_H_

#pragma once

#include <cstddef>

namespace ledger {

// glibc serves an allocation at or above its mmap threshold with a fresh
// mmap and returns it with munmap on free, so each of its pages is faulted in
// anew every time. The threshold starts at 128 KiB and rises only when such a
// chunk is freed. RocksDB's memtable arena blocks are 1 MiB: until some chunk
// that large has been freed (a memtable flushed, a big buffer dropped), every
// block of every memtable is a fresh mapping, and the sequencer thread pays a
// page fault per 4 KiB of events it inserts. Before issue 15 the service
// folded the whole log at start and freed large buffers on the way, which
// raised the threshold by chance; a service that starts in half a second
// does not, and its fund path took about 1 750 minor faults a second in the
// first minutes against 25 before (docs/performance.md).
//
// Fixing the threshold at kMallocMmapThresholdBytes keeps those buffers on
// the heap, where freed ones are reused. glibc then keeps its trim threshold
// fixed too; kMallocTrimThresholdBytes bounds the free memory an arena may
// hold at its top before giving it back, so that RSS still falls after a
// burst.
inline constexpr size_t kMallocMmapThresholdBytes = size_t{4} << 20;
inline constexpr size_t kMallocTrimThresholdBytes = size_t{16} << 20;

// Sets both thresholds. Call once, first thing in main, before threads start.
// Returns false when the allocator refused (then nothing is changed).
bool TuneMalloc();

}  // namespace ledger

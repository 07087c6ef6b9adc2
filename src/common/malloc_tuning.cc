#include "common/malloc_tuning.h"

#include <malloc.h>

namespace ledger {

bool TuneMalloc() {
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMallocMmapThresholdBytes)) == 1 &&
         mallopt(M_TRIM_THRESHOLD, static_cast<int>(kMallocTrimThresholdBytes)) == 1;
}

}  // namespace ledger

#pragma once

// What the ThreadSanitizer build needs from RocksDB before a log opens.

namespace ledger::events {

// Under TSan, builds RocksDB's function-local static set of filter names
// once, on the calling thread, before any database starts its threads (see
// rocks_tsan.cc). Call before opening a database. Does nothing in other
// builds.
void BuildRocksStaticsFirst();

}  // namespace ledger::events

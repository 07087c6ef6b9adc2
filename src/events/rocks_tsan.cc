#include "events/rocks_tsan.h"

#if defined(__SANITIZE_THREAD__)
#include <filesystem>
#include <mutex>
#include <string>

#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <unistd.h>

#include "common/check.h"
#endif

namespace ledger::events {

// Debian's RocksDB is built without TSan, and
// BlockBasedTable::PrefetchIndexAndFilterBlocks keeps a function-local static
// set of filter names (kBuiltinNameAndAliases) that the first open of a table
// with a Bloom filter builds. Threads that use it later pass its guard by an
// atomic load that TSan cannot see in uninstrumented code, so it reports their
// reads as racing with the allocations of the thread that built it (seen in
// CrashTest: a memcmp in the set's find against a 27-byte string). Opening one
// such table here, once per process and before any database starts its
// threads, builds the set first: every later reader then follows from it
// through thread creation or this call_once, both of which TSan sees.
void BuildRocksStaticsFirst() {
#if defined(__SANITIZE_THREAD__)
  static std::once_flag once;
  std::call_once(once, [] {
    rocksdb::Options options;
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    std::error_code ec;
    const std::string path = (std::filesystem::temp_directory_path(ec) /
                              ("funding-ledger-tsan-" + std::to_string(getpid()) + ".sst"))
                                 .string();
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options);
    if (writer.Open(path).ok() && writer.Put("k", "v").ok() && writer.Finish().ok()) {
      rocksdb::SstFileReader reader(options);
      LEDGER_CHECK(reader.Open(path).ok(), "opening a table to build RocksDB's statics");
    }
    std::filesystem::remove(path, ec);
  });
#endif
}

}  // namespace ledger::events

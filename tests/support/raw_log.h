#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "events/keys.h"
#include "events/rocks_log.h"
#include "support/status_matchers.h"

namespace ledger::testing {

// Opens the RocksDB database of a closed event log directly, so that a test
// can change stored bytes behind the log's back, as a failing disk or an
// operator with a hex editor might. `change` gets the database and the handle
// of column family `family` (keys.h). REQUIRES: nothing has the log open.
inline void WithRawLog(
    const std::string& log_dir, std::string_view family,
    const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& change) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const std::string_view name :
       {events::kEventsFamily, events::kStreamsFamily, events::kIdempotencyFamily,
        events::kMetaFamily, events::kStateFamily}) {
    families.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status opened =
      rocksdb::DB::Open(rocksdb::DBOptions(), log_dir, families, &handles, &db);
  if (!opened.ok()) {
    ADD_FAILURE() << "cannot open " << log_dir << ": " << opened.ToString();
    return;
  }
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i].name == family) change(*db, handles[i]);
  }
  for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

// Rewrites the stored value of `key` in `family` with `change`.
inline void OverwriteRawValue(const std::string& log_dir, std::string_view family,
                              const std::string& key,
                              const std::function<void(std::string&)>& change) {
  WithRawLog(log_dir, family, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf) {
    std::string value;
    ASSERT_TRUE(db.Get(rocksdb::ReadOptions(), cf, key, &value).ok()) << "no value to change";
    change(value);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db.Put(wo, cf, key, value).ok());
  });
}

// Applies `change` to the stored record of the event at `position` of the
// closed log in `log_dir` (erasing the record when `change` is empty), then
// reopens the log with a tail check short enough not to reach it, as a log
// damaged long ago would open. `head` is the log's head position.
inline std::unique_ptr<events::RocksEventLog> TamperWithStoredEvent(
    const std::string& log_dir, int64_t head, int64_t position,
    const std::function<void(std::string&)>& change) {
  WithRawLog(log_dir, events::kEventsFamily,
             [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
               const std::string key = events::PositionKey(position);
               rocksdb::WriteOptions wo;
               wo.sync = true;
               if (!change) {
                 ASSERT_TRUE(db.Delete(wo, family, key).ok());
                 return;
               }
               std::string value;
               ASSERT_TRUE(db.Get(rocksdb::ReadOptions(), family, key, &value).ok());
               change(value);
               ASSERT_TRUE(db.Put(wo, family, key, value).ok());
             });
  events::RocksLogOptions options;
  options.verify_tail_events = head - position - 1;
  auto log = events::RocksEventLog::Open(log_dir, options);
  EXPECT_OK(log);
  return log.ok() ? std::move(log).value() : nullptr;
}

}  // namespace ledger::testing

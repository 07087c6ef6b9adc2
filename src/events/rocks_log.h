#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "events/event_log.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace ledger::events {

struct RocksLogOptions {
  // Read-only opens take no lock and never write; used by audit tools while
  // the service holds the log open.
  bool read_only = false;
  // On open, the newest events (up to this many) are chain-verified and the
  // head record is checked against them; an inconsistent log is refused.
  int64_t verify_tail_events = 1024;
};

// The event log on RocksDB (key layout in keys.h, value format in record.h).
// Each Append is one WriteBatch written with sync = true.
class RocksEventLog final : public EventLog {
 public:
  // Opens (creating when absent, unless read-only) the log in `dir`. Fails
  // with kCorruption when the head record, the newest events and the chain
  // between them disagree, naming what is wrong.
  static Result<std::unique_ptr<RocksEventLog>> Open(const std::string& dir,
                                                     const RocksLogOptions& options = {});
  ~RocksEventLog() override;
  RocksEventLog(const RocksEventLog&) = delete;
  RocksEventLog& operator=(const RocksEventLog&) = delete;

  LogHead Head() const override;
  Status Append(std::span<const EncodedEvent> events,
                std::span<const IdempotencyWrite> idempotency) override;
  Status ScanRecords(int64_t from, int64_t to,
                     const std::function<bool(int64_t, std::string_view)>& fn) const override;
  Status StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                         std::vector<int64_t>* positions) const override;
  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view actor,
                                                           std::string_view key) const override;

 private:
  RocksEventLog() = default;
  Status CheckOnOpen(const RocksLogOptions& options);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; see destructor
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  bool read_only_ = false;

  mutable std::mutex head_mu_;
  LogHead head_;  // guarded by head_mu_
};

}  // namespace ledger::events

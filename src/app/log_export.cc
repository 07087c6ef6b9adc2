#include "app/log_export.h"

#include <span>
#include <utility>
#include <vector>

#include "events/idempotency.h"
#include "events/record.h"
#include "events/rocks_log.h"

namespace ledger::app {
namespace {

// Rows written to the copy per write.
constexpr size_t kExportBatchRows = 4096;

// Appends what the export reads to a new RocksDB log in batches, checking
// that the records continue the chain (RocksEventLog::Append requires it).
class CopyWriter {
 public:
  explicit CopyWriter(events::RocksEventLog& copy) : copy_(copy) {}

  Status Record(int64_t position, std::string_view record) {
    LEDGER_ASSIGN_OR_RETURN(const events::Event e, events::DecodeRecord(record));
    if (position != head_.position + 1 || e.position != position || e.prev_hash != head_.hash) {
      return Status::Corruption("the record at position " + std::to_string(position) +
                                " does not continue the chain");
    }
    events_.push_back(events::EncodedEvent{position, e.stream, e.stream_version, e.prev_hash,
                                           e.hash, std::string(record)});
    head_ = events::LogHead{position, e.hash};
    return events_.size() >= kExportBatchRows ? FlushEvents() : Status::Ok();
  }

  Status Idempotency(std::string_view actor, std::string_view key, std::string_view record) {
    LEDGER_RETURN_IF_ERROR(FlushEvents());
    LEDGER_ASSIGN_OR_RETURN(events::IdempotencyRecord decoded,
                            events::DecodeIdempotencyRecord(record));
    idempotency_.push_back(
        events::IdempotencyWrite{std::string(actor), std::string(key), std::move(decoded)});
    if (idempotency_.size() < kExportBatchRows) return Status::Ok();
    return FlushIdempotency();
  }

  // The last batch is held back, to be written with sync (Finish).
  Status State(std::string_view key, std::string_view value) {
    LEDGER_RETURN_IF_ERROR(FlushEvents());
    LEDGER_RETURN_IF_ERROR(FlushIdempotency());
    if (key.empty() || static_cast<uint8_t>(key.front()) == 0xFF) {
      return Status::Corruption("a state entry has a key outside the state's range");
    }
    if (state_.size() >= kExportBatchRows) {
      LEDGER_RETURN_IF_ERROR(copy_.WriteState(state_, /*sync=*/false));
      state_.clear();
    }
    state_.push_back(events::StateWrite{std::string(key), std::string(value)});
    return Status::Ok();
  }

  Status Finish() {
    LEDGER_RETURN_IF_ERROR(FlushEvents());
    LEDGER_RETURN_IF_ERROR(FlushIdempotency());
    if (!state_.empty()) LEDGER_RETURN_IF_ERROR(copy_.WriteState(state_, /*sync=*/true));
    state_.clear();
    return Status::Ok();
  }

 private:
  Status FlushEvents() {
    if (events_.empty()) return Status::Ok();
    LEDGER_RETURN_IF_ERROR(copy_.Append(events_, {}, {}));
    events_.clear();
    return Status::Ok();
  }
  Status FlushIdempotency() {
    if (idempotency_.empty()) return Status::Ok();
    LEDGER_RETURN_IF_ERROR(copy_.Append({}, idempotency_, {}));
    idempotency_.clear();
    return Status::Ok();
  }

  events::RocksEventLog& copy_;
  events::LogHead head_;
  std::vector<events::EncodedEvent> events_;
  std::vector<events::IdempotencyWrite> idempotency_;
  std::vector<events::StateWrite> state_;
};

}  // namespace

Result<events::BackupReport> ExportLog(const projections::PgEventLog& log, const std::string& dir,
                                       const events::BackupOptions& options) {
  return events::WriteCheckedCopy(
      dir,
      [&log](const std::string& partial) -> Result<events::LogHead> {
        LEDGER_ASSIGN_OR_RETURN(auto copy, events::RocksEventLog::Open(partial));
        CopyWriter writer(*copy);
        projections::PgEventLog::ExportSink sink;
        sink.record = [&writer](int64_t position, std::string_view record) {
          return writer.Record(position, record);
        };
        sink.idempotency = [&writer](std::string_view actor, std::string_view key,
                                     std::string_view record) {
          return writer.Idempotency(actor, key, record);
        };
        sink.state = [&writer](std::string_view key, std::string_view value) {
          return writer.State(key, value);
        };
        LEDGER_ASSIGN_OR_RETURN(const events::LogHead head, log.Export(sink));
        LEDGER_RETURN_IF_ERROR(writer.Finish());
        return head;
      },
      /*attempts=*/1, options);
}

}  // namespace ledger::app

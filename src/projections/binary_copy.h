#pragma once

// Internal to src/projections (it takes pqxx transactions): COPY ... FROM
// STDIN in PostgreSQL's binary format, for replay's bulk loads.
//
// pqxx 6.4's stream_to speaks only the text format: every value is printed,
// escaped, copied into a line and parsed again by the server (its integer and
// timestamp input functions). In the binary format a bigint is eight bytes in
// network order and a timestamptz is microseconds since 2000-01-01, so both
// sides do a fraction of that work (docs/performance.md, "Replay in binary").

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

#include "common/clock.h"

namespace ledger::projections {

// Rows buffered before they are handed to libpq.
inline constexpr size_t kBinaryCopyFlushBytes = size_t{256} * 1024;

// One COPY of `table` (qualified and quoted by the caller) in the binary
// format, inside `tx`. Each row is Row(n) followed by exactly n values, in
// the order of `columns`, each of the column's own type: Int8 for bigint,
// Text for text, TimestampTz for timestamptz. A wrong type is refused by the
// server, which ends the COPY with an error (thrown by Complete).
//
// Nothing else may run on tx's connection until Complete returns. Errors
// are thrown as pqxx exceptions (Guard turns them into a Status). Destroyed
// before Complete, the COPY is aborted: the transaction then fails.
class BinaryCopy {
 public:
  BinaryCopy(pqxx::dbtransaction& tx, std::string_view table,
             std::initializer_list<std::string_view> columns);
  BinaryCopy(const BinaryCopy&) = delete;
  BinaryCopy& operator=(const BinaryCopy&) = delete;
  ~BinaryCopy();

  void Row(int16_t fields) { Put16(static_cast<uint16_t>(fields)); }
  void Int8(int64_t value) {
    Put32(8);
    Put64(static_cast<uint64_t>(value));
  }
  void Text(std::string_view value);
  void TimestampTz(Timestamp value);
  // A NULL in any column.
  void Null() { Put32(UINT32_MAX); }

  // Ends the COPY and waits for the server's verdict on it.
  void Complete();

 private:
  void Put16(uint16_t v);
  void Put32(uint32_t v);
  void Put64(uint64_t v);
  void MaybeFlush() {
    if (buffer_.size() >= kBinaryCopyFlushBytes) Flush();
  }
  void Flush();

  pqxx::dbtransaction& tx_;
  std::string buffer_;
  bool active_ = false;
};

}  // namespace ledger::projections

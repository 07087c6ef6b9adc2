#pragma once

// Internal to src/projections (it takes pqxx transactions): COPY in
// PostgreSQL's binary format, in both directions: FROM STDIN for replay's bulk
// loads, TO STDOUT for verify's bulk comparisons.
//
// pqxx 6.4's stream_to and stream_from speak only the text format: every
// value is printed, escaped, copied into a line and parsed again (the
// server's integer and timestamp functions, or the client's). In the binary
// format a bigint is eight bytes in network order and a timestamptz is
// microseconds since 2000-01-01, so both sides do a fraction of that work
// (docs/performance.md, "Replay in binary" and "The large tables read back
// in binary").

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// COPY (query) TO STDOUT in the binary format, inside `tx`, read one row at a
// time: the rows stream through, however many there are, without a result
// set that holds them all, and without the server printing each value as
// text for the client to parse again.
//
// Nothing else may run on tx's connection until Next has returned false.
// Errors, the server's and a stream that is not the binary COPY format, are
// thrown as pqxx exceptions. Destroyed before the end, the COPY is cancelled:
// the transaction then fails.
class BinaryCopyOut {
 public:
  // `query` is a SELECT (COPY takes no parameters: values are in its text).
  BinaryCopyOut(pqxx::dbtransaction& tx, std::string_view query);
  BinaryCopyOut(const BinaryCopyOut&) = delete;
  BinaryCopyOut& operator=(const BinaryCopyOut&) = delete;
  ~BinaryCopyOut();

  // Moves to the next row; false after the last, once the server has said
  // that the COPY completed.
  bool Next();

  // The current row's fields, valid until the next call of Next.
  size_t size() const { return fields_.size(); }
  bool IsNull(size_t i) const { return fields_.at(i).length < 0; }
  // A field's bytes as the server sent them (a text column's own bytes);
  // empty for NULL.
  std::string_view Bytes(size_t i) const;
  // A bigint column's value; nothing for NULL or a field that is not 8 bytes.
  std::optional<int64_t> Int8(size_t i) const;
  // A timestamptz column's value; nothing for NULL, a field that is not 8
  // bytes, or an instant Timestamp cannot hold (±infinity).
  std::optional<Timestamp> TimestampTz(size_t i) const;

 private:
  struct Field {
    size_t offset = 0;    // in pending_
    int64_t length = -1;  // -1: NULL
  };
  // A whole row from pending_ at consumed_ into fields_; false when pending_
  // does not hold one yet. Sets done_ at the trailer.
  bool ParseRow();
  // Appends the next message of the stream to pending_; false at its end.
  bool Receive();
  // Throws for a stream that is not the binary format.
  [[noreturn]] void Malformed(const char* what) const;

  pqxx::dbtransaction& tx_;
  std::string statement_;
  std::string pending_;  // received and not yet consumed
  size_t consumed_ = 0;
  std::vector<Field> fields_;
  bool header_read_ = false;
  bool done_ = false;    // the trailer was read
  bool active_ = false;  // the server is still in the COPY
};

}  // namespace ledger::projections

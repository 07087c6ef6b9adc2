#include "projections/binary_copy.h"

#include <chrono>
#include <cstring>
#include <limits>
#include <string>

#include <endian.h>
#include <libpq-fe.h>

namespace ledger::projections {
namespace {

// The binary COPY stream's header: the signature, 32 bits of flags (none)
// and the length of a header extension (none).
constexpr std::string_view kHeader{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
// The trailer: a row of -1 fields.
constexpr uint16_t kTrailer = 0xFFFF;
// The header's fixed part: the signature, the flags and the extension's
// length; and the flag that says each row carries an OID (never asked for).
constexpr size_t kSignatureBytes = 11;
constexpr size_t kFixedHeaderBytes = kSignatureBytes + 8;
constexpr uint32_t kOidsFlag = uint32_t{1} << 16;
// PostgreSQL's epoch for timestamps, 2000-01-01T00:00:00Z, in Unix
// microseconds.
constexpr int64_t kPostgresEpochUnixMicros = 946'684'800LL * 1'000'000;

// pqxx 6.4 hands its connection's libpq handle only to its large objects:
// largeobject::raw_connection is a protected static, reachable from a
// subclass. Never instantiated.
class RawConnection : public pqxx::largeobject {
 public:
  static PGconn* Of(const pqxx::dbtransaction& tx) { return raw_connection(tx); }
};

[[noreturn]] void ThrowFromConnection(PGconn* connection, const std::string& what) {
  const std::string message = what + ": " + PQerrorMessage(connection);
  if (PQstatus(connection) != CONNECTION_OK) throw pqxx::broken_connection(message);
  throw pqxx::failure(message);
}

// Reads the results the COPY left until libpq has none; throws the first
// error among them.
void DrainResults(PGconn* connection, const std::string& statement) {
  std::string error;
  std::string sqlstate;
  while (PGresult* result = PQgetResult(connection)) {
    if (PQresultStatus(result) != PGRES_COMMAND_OK && error.empty()) {
      error = PQresultErrorMessage(result);
      if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = state;
    }
    PQclear(result);
  }
  if (error.empty()) return;
  if (PQstatus(connection) != CONNECTION_OK) throw pqxx::broken_connection(error);
  throw pqxx::sql_error(error, statement, sqlstate.empty() ? nullptr : sqlstate.c_str());
}

uint16_t Read16(const char* p) {
  uint16_t big = 0;
  std::memcpy(&big, p, sizeof big);
  return be16toh(big);
}

uint32_t Read32(const char* p) {
  uint32_t big = 0;
  std::memcpy(&big, p, sizeof big);
  return be32toh(big);
}

uint64_t Read64(const char* p) {
  uint64_t big = 0;
  std::memcpy(&big, p, sizeof big);
  return be64toh(big);
}

}  // namespace

BinaryCopy::BinaryCopy(pqxx::dbtransaction& tx, std::string_view table,
                       std::initializer_list<std::string_view> columns)
    : tx_(tx) {
  std::string sql = "COPY ";
  sql += table;
  sql += " (";
  bool first = true;
  for (const std::string_view column : columns) {
    if (!first) sql += ", ";
    first = false;
    sql += tx.quote_name(std::string(column));
  }
  sql += ") FROM STDIN (FORMAT binary)";
  // pqxx accepts a COPY IN result (no rows); the data then goes through
  // libpq directly.
  tx.exec0(sql);
  active_ = true;
  buffer_.reserve(kBinaryCopyFlushBytes + 4096);
  buffer_.append(kHeader);
}

BinaryCopy::~BinaryCopy() {
  if (!active_) return;
  // Abandoned (an exception on the way): the server ends the COPY with an
  // error, which aborts the transaction; nothing loaded stays.
  PGconn* connection = RawConnection::Of(tx_);
  if (PQputCopyEnd(connection, "abandoned by the client") == 1) {
    while (PGresult* result = PQgetResult(connection)) PQclear(result);
  }
}

void BinaryCopy::Text(std::string_view value) {
  Put32(static_cast<uint32_t>(value.size()));
  buffer_.append(value);
}

void BinaryCopy::TimestampTz(Timestamp value) {
  Put32(8);
  Put64(static_cast<uint64_t>(value.time_since_epoch().count() - kPostgresEpochUnixMicros));
}

void BinaryCopy::Put16(uint16_t v) {
  MaybeFlush();
  const uint16_t big = htobe16(v);
  buffer_.append(reinterpret_cast<const char*>(&big), sizeof big);
}

void BinaryCopy::Put32(uint32_t v) {
  const uint32_t big = htobe32(v);
  buffer_.append(reinterpret_cast<const char*>(&big), sizeof big);
}

void BinaryCopy::Put64(uint64_t v) {
  const uint64_t big = htobe64(v);
  buffer_.append(reinterpret_cast<const char*>(&big), sizeof big);
}

void BinaryCopy::Flush() {
  if (buffer_.empty()) return;
  PGconn* connection = RawConnection::Of(tx_);
  if (PQputCopyData(connection, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
    ThrowFromConnection(connection, "sending COPY data");
  }
  buffer_.clear();
}

void BinaryCopy::Complete() {
  Put16(kTrailer);
  Flush();
  PGconn* connection = RawConnection::Of(tx_);
  active_ = false;
  if (PQputCopyEnd(connection, nullptr) != 1) ThrowFromConnection(connection, "ending COPY");
  DrainResults(connection, "COPY ... FROM STDIN (FORMAT binary)");
}

BinaryCopyOut::BinaryCopyOut(pqxx::dbtransaction& tx, std::string_view query)
    : tx_(tx), statement_("COPY (" + std::string(query) + ") TO STDOUT (FORMAT binary)") {
  // pqxx accepts a COPY OUT result (no rows); the data then comes through
  // libpq directly.
  tx.exec0(statement_);
  active_ = true;
}

BinaryCopyOut::~BinaryCopyOut() {
  if (!active_) return;
  // Abandoned (an exception on the way): the query is cancelled and what
  // the server sent until then is read and dropped, so that the connection
  // leaves the COPY; the transaction has failed.
  PGconn* connection = RawConnection::Of(tx_);
  if (PGcancel* cancel = PQgetCancel(connection)) {
    char error[256];
    PQcancel(cancel, error, sizeof error);
    PQfreeCancel(cancel);
  }
  char* buffer = nullptr;
  while (PQgetCopyData(connection, &buffer, 0) > 0) PQfreemem(buffer);
  while (PGresult* result = PQgetResult(connection)) PQclear(result);
}

bool BinaryCopyOut::Next() {
  if (done_) return false;
  pending_.erase(0, consumed_);
  consumed_ = 0;
  while (!ParseRow()) {
    if (!Receive()) Malformed("the stream ended before its trailer");
  }
  if (!done_) return true;
  // The trailer: the server's stream ends there, and so does the COPY.
  if (consumed_ != pending_.size() || Receive()) Malformed("data after the trailer");
  return false;
}

std::string_view BinaryCopyOut::Bytes(size_t i) const {
  const Field& f = fields_.at(i);
  if (f.length < 0) return {};
  return std::string_view(pending_.data() + f.offset, static_cast<size_t>(f.length));
}

std::optional<int64_t> BinaryCopyOut::Int8(size_t i) const {
  const Field& f = fields_.at(i);
  if (f.length != 8) return std::nullopt;
  return static_cast<int64_t>(Read64(pending_.data() + f.offset));
}

std::optional<Timestamp> BinaryCopyOut::TimestampTz(size_t i) const {
  const std::optional<int64_t> since_2000 = Int8(i);
  // PostgreSQL writes ±infinity as the two extremes of int64.
  if (!since_2000 || *since_2000 == std::numeric_limits<int64_t>::max() ||
      *since_2000 == std::numeric_limits<int64_t>::min()) {
    return std::nullopt;
  }
  int64_t unix_micros = 0;
  if (__builtin_add_overflow(*since_2000, kPostgresEpochUnixMicros, &unix_micros)) {
    return std::nullopt;
  }
  return Timestamp(std::chrono::microseconds(unix_micros));
}

bool BinaryCopyOut::ParseRow() {
  const char* data = pending_.data();
  size_t at = consumed_;
  const size_t end = pending_.size();
  if (!header_read_) {
    if (end - at < kFixedHeaderBytes) return false;
    if (std::memcmp(data + at, kHeader.data(), kSignatureBytes) != 0) {
      Malformed("no binary COPY signature");
    }
    if ((Read32(data + at + kSignatureBytes) & kOidsFlag) != 0) Malformed("rows with OIDs");
    const uint32_t extension = Read32(data + at + kSignatureBytes + 4);
    if (end - at - kFixedHeaderBytes < extension) return false;
    at += kFixedHeaderBytes + extension;
    consumed_ = at;
    header_read_ = true;
  }
  if (end - at < 2) return false;
  const uint16_t count = Read16(data + at);
  at += 2;
  if (count == kTrailer) {
    fields_.clear();
    consumed_ = at;
    done_ = true;
    return true;
  }
  if (count > std::numeric_limits<int16_t>::max()) Malformed("a negative field count");
  fields_.resize(count);
  for (Field& f : fields_) {
    if (end - at < 4) return false;
    const auto length = static_cast<int32_t>(Read32(data + at));
    at += 4;
    if (length < -1) Malformed("a negative field length");
    f.offset = at;
    f.length = length;
    if (length > 0) {
      if (end - at < static_cast<size_t>(length)) return false;
      at += static_cast<size_t>(length);
    }
  }
  consumed_ = at;
  return true;
}

bool BinaryCopyOut::Receive() {
  if (!active_) return false;
  PGconn* connection = RawConnection::Of(tx_);
  char* buffer = nullptr;
  const int received = PQgetCopyData(connection, &buffer, 0);
  if (received > 0) {
    pending_.append(buffer, static_cast<size_t>(received));
    PQfreemem(buffer);
    return true;
  }
  active_ = false;
  // The end of the data (-1), or an error (-2): the COPY's result says
  // which, and carries the server's error if it failed.
  DrainResults(connection, statement_);
  if (received == -2) ThrowFromConnection(connection, "receiving COPY data");
  return false;
}

void BinaryCopyOut::Malformed(const char* what) const {
  throw pqxx::failure(std::string("reading ") + statement_ + ": " + what);
}

}  // namespace ledger::projections

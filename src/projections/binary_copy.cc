#include "projections/binary_copy.h"

#include <chrono>
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

}  // namespace ledger::projections

#pragma once

// Internal to src/projections: what the files of PgEventLog share (the log's
// bytea helpers, the head read, the statement deadline and the read retry).
// Only pg_event_log*.cc and pg_log_*.cc include it.

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <pqxx/pqxx>
#include <sys/socket.h>

#include "common/ascii.h"
#include "projections/connection_pool.h"
#include "projections/database.h"
#include "projections/pg_event_log.h"

namespace ledger::projections {

inline std::string_view View(const pqxx::binarystring& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

inline pqxx::binarystring Bytes(std::string_view bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

// "\x…": a bytea value as an element of a text array literal.
inline std::string ByteaText(std::string_view bytes) {
  std::string out = "\\x";
  AppendHex(bytes, out);
  return out;
}

inline Result<events::LogHead> HeadFromRow(const pqxx::row& row) {
  events::LogHead head;
  head.position = row[0].as<int64_t>();
  const pqxx::binarystring hash(row[1]);
  if (head.position < 0) return Status::Corruption("head position is negative");
  if (hash.size() != head.hash.size()) {
    return Status::Corruption("head hash has " + std::to_string(hash.size()) +
                              " bytes, expected 32");
  }
  std::memcpy(head.hash.data(), hash.data(), head.hash.size());
  return head;
}

// The head row of the log in `schema` (quoted) in `tx`'s snapshot, checked
// against the newest stored event.
inline Result<events::LogHead> HeadIn(pqxx::transaction_base& tx, const std::string& schema) {
  // One statement, so one snapshot: an append that commits meanwhile moves
  // both or neither.
  const pqxx::result rows =
      tx.exec("SELECT position, hash, (SELECT coalesce(max(position), 0) FROM " + schema +
              ".events) FROM " + schema + ".head");
  if (rows.size() != 1) {
    return Status::Corruption("the log's head table has " + std::to_string(rows.size()) +
                              " rows, expected 1");
  }
  LEDGER_ASSIGN_OR_RETURN(const events::LogHead head, HeadFromRow(rows[0]));
  // Nothing may be stored after the head: events and head move in one
  // transaction.
  const auto last = rows[0][2].as<int64_t>();
  if (last != head.position) {
    return Status::Corruption("head record says position " + std::to_string(head.position) +
                              " but the newest stored event is at " + std::to_string(last));
  }
  return head;
}

inline std::string Describe(const events::LogHead& head) {
  return "position " + std::to_string(head.position) + " (" + events::ToHex(head.hash) + ")";
}

// Shuts the writer's socket down when a statement outlives its deadline: the
// blocked libpq call then fails as a broken connection and the caller reads
// the outcome back. A cancel request is never sent: it could arrive after
// the commit and would say nothing about whether it happened.
class StatementWatchdog {
 public:
  StatementWatchdog() : thread_([this] { Run(); }) {}
  ~StatementWatchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  StatementWatchdog(const StatementWatchdog&) = delete;
  StatementWatchdog& operator=(const StatementWatchdog&) = delete;

  // Until Disarm, shuts `socket` down at `deadline`.
  void Arm(int socket, std::chrono::steady_clock::time_point deadline) {
    {
      std::lock_guard lock(mu_);
      socket_ = socket;
      deadline_ = deadline;
      armed_ = true;
    }
    cv_.notify_all();
  }
  void Disarm() {
    std::lock_guard lock(mu_);
    armed_ = false;
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "log-deadline");
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      const auto deadline = deadline_;
      cv_.wait_until(lock, deadline);
      if (armed_ && deadline_ == deadline && std::chrono::steady_clock::now() >= deadline) {
        ::shutdown(socket_, SHUT_RDWR);
        armed_ = false;
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                 // guarded by mu_
  bool armed_ = false;                                // guarded by mu_
  int socket_ = -1;                                   // guarded by mu_
  std::chrono::steady_clock::time_point deadline_{};  // guarded by mu_
  std::thread thread_;
};

// Arms `watchdog` (when there is one) for the statements of one scope on
// `connection`.
class Deadline {
 public:
  Deadline(StatementWatchdog* watchdog, const PgConnection& connection,
           std::chrono::milliseconds timeout)
      : watchdog_(watchdog) {
    if (watchdog_ != nullptr) {
      watchdog_->Arm(connection.sock(), std::chrono::steady_clock::now() + timeout);
    }
  }
  ~Deadline() {
    if (watchdog_ != nullptr) watchdog_->Disarm();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

 private:
  StatementWatchdog* const watchdog_;
};

template <typename Fn>
Status PgEventLog::Read(std::string_view what, Fn&& fn) const {
  for (int attempt = 1;; ++attempt) {
    LEDGER_ASSIGN_OR_RETURN(auto lease, readers_->Acquire());
    Status status = Guard(what, [&]() -> Status {
      // One statement at a time, each its own snapshot: no BEGIN and COMMIT
      // round trips (the pool's sessions are read-only).
      pqxx::nontransaction tx(lease.connection());
      return fn(tx);
    });
    if (status.ok()) return status;
    lease.Discard();
    if (status.code() != Status::Code::kUnavailable || lease.fresh() || attempt > 1) {
      return status;
    }
    readers_->CloseIdle();
  }
}

template <typename... Args>
Status PgEventLog::Query(std::string_view what, pqxx::result* rows, const std::string& sql,
                         const Args&... args) const {
  return Read(what, [&](pqxx::nontransaction& tx) -> Status {
    *rows = tx.exec_prepared(Prepared(tx, sql), args...);
    return Status::Ok();
  });
}

}  // namespace ledger::projections

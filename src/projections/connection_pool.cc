#include "projections/connection_pool.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/check.h"
#include "projections/database.h"

namespace ledger::projections {

std::string WithConninfoSetting(std::string_view conninfo, std::string_view key,
                                std::string_view value) {
  LEDGER_CHECK(!value.empty() && std::all_of(value.begin(), value.end(),
                                             [](char c) {
                                               return std::isalnum(static_cast<unsigned char>(c)) ||
                                                      c == '_' || c == '.' || c == '-';
                                             }),
               "a conninfo value that needs no quoting");
  std::string out(conninfo);
  if (conninfo.find(key) != std::string_view::npos) return out;
  const std::string setting = std::string(key) + "=" + std::string(value);
  if (conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://")) {
    out += (conninfo.find('?') == std::string_view::npos ? '?' : '&');
    out += setting;
  } else {
    if (!out.empty()) out += ' ';
    out += setting;
  }
  return out;
}

std::string WithConnectTimeout(std::string_view conninfo, std::chrono::seconds timeout) {
  return WithConninfoSetting(conninfo, "connect_timeout", std::to_string(timeout.count()));
}

std::string WithApplicationName(std::string_view conninfo, std::string_view name) {
  return WithConninfoSetting(conninfo, "application_name", name);
}

ConnectionPool::ConnectionPool(ConnectionPoolOptions options)
    : options_(std::move(options)),
      conninfo_(WithConnectTimeout(options_.conninfo, options_.connect_timeout)) {
  LEDGER_CHECK(options_.max_connections >= 1, "a pool needs at least one connection");
  idle_.reserve(options_.max_connections);
}

ConnectionPool::~ConnectionPool() {
  std::lock_guard lock(mu_);
  LEDGER_CHECK(in_use_ == 0, "a connection pool outlived by one of its leases");
}

size_t ConnectionPool::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

size_t ConnectionPool::in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

size_t ConnectionPool::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_ptr<PgConnection> connection;
  {
    std::unique_lock lock(mu_);
    const auto available = [this] { return !idle_.empty() || open_ < options_.max_connections; };
    if (!available()) {
      ++waiting_;
      const bool got = returned_.wait_until(lock, deadline, available);
      --waiting_;
      if (!got) {
        return Status::Unavailable("no PostgreSQL connection free within " +
                                   std::to_string(wait.count()) + " ms (all " +
                                   std::to_string(options_.max_connections) + " in use)");
      }
    }
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserve the slot; Open runs without the lock
    }
    ++in_use_;
  }
  if (connection != nullptr && connection->is_open()) {
    return Lease(this, std::move(connection), /*fresh=*/false);
  }
  // Either a new slot, or an idle connection the server closed: replace it in
  // the same slot.
  connection.reset();
  Result<std::unique_ptr<PgConnection>> opened = Open();
  if (!opened.ok()) {
    {
      std::lock_guard lock(mu_);
      --open_;
      --in_use_;
    }
    returned_.notify_one();
    return opened.status();
  }
  return Lease(this, std::move(opened).value(), /*fresh=*/true);
}

Result<std::unique_ptr<PgConnection>> ConnectionPool::Open() const {
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> connection, Connect(conninfo_));
  const Status set = Guard("setting session variables", [&]() -> Status {
    // set_variable survives pqxx's transparent reconnects.
    if (options_.statement_timeout.count() > 0) {
      connection->set_variable("statement_timeout",
                               std::to_string(options_.statement_timeout.count()));
    }
    if (options_.read_only) {
      connection->set_variable("default_transaction_read_only", "on");
      // Many small concurrent reads: a query that starts worker processes
      // takes the cores from the others and pays a fork's latency itself.
      connection->set_variable("max_parallel_workers_per_gather", "0");
    }
    return Status::Ok();
  });
  if (!set.ok()) return Status::Unavailable(set.message());
  return connection;
}

void ConnectionPool::CloseIdle() {
  std::vector<std::unique_ptr<PgConnection>> closing;
  {
    std::lock_guard lock(mu_);
    closing.swap(idle_);
    idle_.reserve(options_.max_connections);
    open_ -= closing.size();
  }
  closing.clear();  // closes the sockets, outside the lock
  returned_.notify_all();
}

void ConnectionPool::Release(std::unique_ptr<PgConnection> connection, bool discard) {
  const bool keep = !discard && connection->is_open();
  if (!keep) connection.reset();  // closes the socket, outside the lock
  {
    std::lock_guard lock(mu_);
    LEDGER_CHECK(in_use_ > 0 && open_ > 0, "a lease returned to a pool that did not lend it");
    --in_use_;
    if (keep) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
}

ConnectionPool::Lease::Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> connection,
                             bool fresh)
    : pool_(pool), connection_(std::move(connection)), fresh_(fresh) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      connection_(std::move(other.connection_)),
      fresh_(other.fresh_),
      discard_(other.discard_) {}

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Return();
    pool_ = std::exchange(other.pool_, nullptr);
    connection_ = std::move(other.connection_);
    fresh_ = other.fresh_;
    discard_ = other.discard_;
  }
  return *this;
}

ConnectionPool::Lease::~Lease() { Return(); }

PgConnection& ConnectionPool::Lease::connection() const {
  LEDGER_CHECK(connection_ != nullptr, "use of a moved-from connection lease");
  return *connection_;
}

void ConnectionPool::Lease::Return() {
  if (pool_ == nullptr) return;
  std::exchange(pool_, nullptr)->Release(std::move(connection_), discard_);
}

}  // namespace ledger::projections

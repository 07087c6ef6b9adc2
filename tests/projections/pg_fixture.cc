#include "pg_fixture.h"

#include <atomic>

#include <sys/stat.h>
#include <unistd.h>

#include "support/temp_dir.h"

namespace ledger::projections::testing {
namespace {

struct Shared {
  Shared() {
    // The postgres user must be able to reach the cluster directory.
    chmod(dir.path().c_str(), 0711);
    EmbeddedPostgresOptions options;
    options.data_dir = dir.Sub("pg");
    options.durable = false;
    auto started = EmbeddedPostgres::Start(options);
    if (!started.ok()) {
      ADD_FAILURE() << "cannot start the test PostgreSQL: " << started.status().ToString();
      std::abort();
    }
    server = std::move(started).value();
  }

  ledger::testing::TempDir dir;
  std::unique_ptr<EmbeddedPostgres> server;  // declared after dir: stops first
};

Shared& Instance() {
  // Destroyed at exit: the server stops before its directory is removed.
  static Shared shared;
  return shared;
}

std::atomic<int> next_database{0};

}  // namespace

EmbeddedPostgres& SharedServer() { return *Instance().server; }

void TestDatabase::Create() {
  EmbeddedPostgres& server = SharedServer();
  name_ = "test_" + std::to_string(getpid()) + "_" + std::to_string(next_database++);
  pqxx::connection admin(server.ConnectionString("postgres"));
  pqxx::nontransaction(admin).exec0("CREATE DATABASE " + name_);
  conninfo_ = server.ConnectionString(name_);
}

void TestDatabase::Drop() {
  db_.reset();
  if (name_.empty()) return;
  pqxx::connection admin(SharedServer().ConnectionString("postgres"));
  pqxx::nontransaction(admin).exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  name_.clear();
}

pqxx::connection& TestDatabase::db() {
  if (!db_) db_ = std::make_unique<pqxx::connection>(conninfo_);
  return *db_;
}

}  // namespace ledger::projections::testing

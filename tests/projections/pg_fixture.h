#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "projections/embedded_postgres.h"

namespace ledger::projections::testing {

// The one throwaway PostgreSQL cluster of this test binary, started on first
// use in a temporary directory (not durable: fsync off) and stopped when the
// binary exits. Tests that need it get a fresh database each.
EmbeddedPostgres& SharedServer();

// A fresh, empty database on the shared server; dropped by Drop().
class TestDatabase {
 public:
  void Create();
  void Drop();
  // libpq connection string of the database.
  const std::string& conninfo() const { return conninfo_; }
  // A connection to it, for a test's own checks.
  pqxx::connection& db();

 private:
  std::string name_;
  std::string conninfo_;
  std::unique_ptr<pqxx::connection> db_;
};

// A fresh, empty database per test on the shared server.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override { database_.Create(); }
  void TearDown() override { database_.Drop(); }

  const std::string& conninfo() const { return database_.conninfo(); }
  pqxx::connection& db() { return database_.db(); }

  TestDatabase database_;
};

}  // namespace ledger::projections::testing

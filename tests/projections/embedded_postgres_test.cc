#include "projections/embedded_postgres.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "projections/database.h"
#include "projections/migrations.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::projections {
namespace {

using testing::PgTest;

TEST(EmbeddedPostgresTest, InitialisesStartsRestartsAndStops) {
  ledger::testing::TempDir dir;
  chmod(dir.path().c_str(), 0711);
  EmbeddedPostgresOptions options;
  options.data_dir = dir.Sub("pg");
  options.durable = false;
  {
    auto server = EmbeddedPostgres::Start(options);
    ASSERT_OK(server);
    pqxx::connection c((*server)->ConnectionString());
    pqxx::work tx(c);
    EXPECT_EQ(tx.exec1("SHOW listen_addresses")[0].as<std::string>(), "");
    EXPECT_EQ(tx.exec1("SHOW server_encoding")[0].as<std::string>(), "UTF8");
    tx.exec0("CREATE TABLE kept (x int)");
    tx.commit();
    const pid_t pid = (*server)->pid();
    ASSERT_OK((*server)->Stop());
    EXPECT_EQ(kill(pid, 0), -1);  // gone
  }
  // Second start reuses the cluster: no initdb, the table is still there.
  auto again = EmbeddedPostgres::Start(options);
  ASSERT_OK(again);
  pqxx::connection c((*again)->ConnectionString());
  EXPECT_NO_THROW(pqxx::work(c).exec0("SELECT * FROM kept"));
}

// The server must not outlive the process that started it, even when that
// process is killed without a chance to stop it.
TEST(EmbeddedPostgresTest, ServerStopsWhenItsOwnerIsKilled) {
  ledger::testing::TempDir dir;
  chmod(dir.path().c_str(), 0711);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(fds[0]);
    EmbeddedPostgresOptions options;
    options.data_dir = dir.Sub("pg");
    options.durable = false;
    options.port = 5434;
    auto server = EmbeddedPostgres::Start(options);
    const pid_t pid = server.ok() ? (*server)->pid() : -1;
    if (write(fds[1], &pid, sizeof pid) != sizeof pid) _exit(1);
    while (true) pause();  // killed by the test
  }
  close(fds[1]);
  pid_t server_pid = -1;
  ASSERT_EQ(read(fds[0], &server_pid, sizeof server_pid), static_cast<ssize_t>(sizeof server_pid));
  close(fds[0]);
  ASSERT_GT(server_pid, 0) << "the owner could not start the server";
  EXPECT_EQ(kill(server_pid, 0), 0);
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = kill(server_pid, 0) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "postgres " << server_pid << " outlived its owner";
  if (!gone) kill(server_pid, SIGKILL);
}

TEST(EmbeddedPostgresTest, ExplainsMissingBinaries) {
  ledger::testing::TempDir dir;
  EmbeddedPostgresOptions options;
  options.data_dir = dir.Sub("pg");
  options.bin_dir = dir.Sub("no-such-bin");
  auto server = EmbeddedPostgres::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(server.status().message().find("not found"), std::string::npos);
}

TEST(EmbeddedPostgresTest, RefusesASocketPathThatCannotFit) {
  EmbeddedPostgresOptions options;
  options.data_dir = "/tmp/" + std::string(120, 'x');
  auto server = EmbeddedPostgres::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument);
}

class EmbeddedSettingsTest : public PgTest {};

// Replay's COPY skips the WAL only with minimal WAL.
TEST_F(EmbeddedSettingsTest, RunsWithMinimalWal) {
  pqxx::nontransaction tx(db());
  EXPECT_EQ(tx.exec1("SHOW wal_level")[0].as<std::string>(), "minimal");
  EXPECT_EQ(tx.exec1("SHOW max_wal_senders")[0].as<std::string>(), "0");
}

class MigrationsTest : public PgTest {};

TEST_F(MigrationsTest, AppliesEveryMigrationOnceAndIsSafeToRepeat) {
  ASSERT_FALSE(Migrations().empty());
  EXPECT_EQ(Migrations().front().version, 1);
  ASSERT_OK(ApplyMigrations(db(), kReadSchema));
  ASSERT_OK(ApplyMigrations(db(), kReadSchema));
  pqxx::work tx(db());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM ledger_read.schema_migrations")[0].as<size_t>(),
            Migrations().size());
  EXPECT_NO_THROW(tx.exec0("SELECT id, total_funded FROM ledger_read.post_view"));
  EXPECT_NO_THROW(tx.exec0("SELECT post_id FROM ledger_read.backers"));
  EXPECT_NO_THROW(tx.exec0("SELECT position, hash FROM ledger_read.checkpoints"));
}

// Readers never see the schema half-way: every pending migration commits in
// one transaction (a list read that reached post_view after 001 and before
// 004 added `status` answered 500). One transaction: one xmin on every row.
TEST_F(MigrationsTest, AppliesEveryPendingMigrationInOneTransaction) {
  ASSERT_OK(ApplyMigrations(db(), kReadSchema));
  pqxx::work tx(db());
  EXPECT_EQ(tx.exec1("SELECT count(DISTINCT xmin::text) FROM ledger_read.schema_migrations")[0]
                .as<size_t>(),
            1u);
}

// A schema built by the first migration alone keeps its figures when the
// second one splits them out of posts.
TEST_F(MigrationsTest, UpgradesASchemaWithRowsInIt) {
  // Migration i (0-based) applied by hand, as ApplyMigrations would.
  const auto apply = [](pqxx::work& tx, size_t i) {
    tx.exec0("SET LOCAL search_path TO ledger_read, public");
    tx.exec0(std::string(Migrations().at(i).sql));
    tx.exec_params0("INSERT INTO ledger_read.schema_migrations (version, name) VALUES ($1, $2)",
                    Migrations().at(i).version, Migrations().at(i).name);
  };
  {
    pqxx::work tx(db());
    tx.exec0("CREATE SCHEMA ledger_read");
    tx.exec0(
        "CREATE TABLE ledger_read.schema_migrations (version integer PRIMARY KEY, name text NOT "
        "NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    apply(tx, 0);
    tx.exec0(
        "INSERT INTO ledger_read.posts (id, title, uploader, owner, description, target_amount, "
        "funding_unit, end_date, closes_at, created_at, total_funded, participant_count, "
        "funding_count, version, last_position) VALUES "
        "(7, 't', 'u', 'o', '', 5000, 1000, '2026-12-31', now(), now(), 3000, 2, 3, 4, 42)");
    tx.exec0(
        "INSERT INTO ledger_read.backers VALUES (7, 'bob', 2, 2000, 2), (7, 'amy', 1, 1000, 1)");
    tx.exec0("INSERT INTO ledger_read.checkpoints VALUES ('read_model', 42, 'h', now())");
    // 002 and 003 move the figures into post_stats and keep every row.
    apply(tx, 1);
    apply(tx, 2);
    tx.commit();
  }
  {
    pqxx::work tx(db());
    const pqxx::row row = tx.exec1(
        "SELECT total_funded, participant_count, funding_count, version, last_position "
        "FROM ledger_read.post_view WHERE id = 7");
    EXPECT_EQ(row[0].as<int64_t>(), 3000);
    EXPECT_EQ(row[1].as<int64_t>(), 2);
    EXPECT_EQ(row[2].as<int64_t>(), 3);
    EXPECT_EQ(row[3].as<int64_t>(), 4);
    EXPECT_EQ(row[4].as<int64_t>(), 42);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM ledger_read.backers")[0].as<int>(), 2);
    EXPECT_ANY_THROW(tx.exec0("SELECT total_funded FROM ledger_read.posts"));
  }
  // 004 cannot know the fundings' positions: it empties the tables and the
  // checkpoint, so the projector rebuilds them from the log.
  ASSERT_OK(ApplyMigrations(db(), kReadSchema));
  pqxx::work tx(db());
  for (const char* table : {"posts", "post_stats", "backers", "fundings", "checkpoints"}) {
    EXPECT_EQ(tx.exec1(std::string("SELECT count(*) FROM ledger_read.") + table)[0].as<int>(), 0)
        << table;
  }
  EXPECT_NO_THROW(tx.exec0("SELECT status, funding_model FROM ledger_read.posts"));
}

TEST_F(MigrationsTest, BuildsAnyNamedSchema) {
  ASSERT_OK(ApplyMigrations(db(), "ledger_read_next"));
  pqxx::work tx(db());
  EXPECT_NO_THROW(tx.exec0("SELECT id FROM ledger_read_next.posts"));
}

TEST_F(MigrationsTest, TrigramSearchFindsKoreanSubstrings) {
  ASSERT_OK(ApplyMigrations(db(), kReadSchema));
  pqxx::work tx(db());
  tx.exec0(
      "INSERT INTO ledger_read.posts (id, title, uploader, owner, description, target_amount, "
      "funding_unit, end_date, closes_at, created_at) VALUES "
      "(1, '내 취미 만들기', 'u', 'o', '', 1, 1, '2026-12-31', now(), now()), "
      "(2, '취미를 위한 모임', 'u', 'o', '', 1, 1, '2026-12-31', now(), now()), "
      "(3, 'Hobby CLUB', 'u', 'o', '', 1, 1, '2026-12-31', now(), now())");
  EXPECT_EQ(
      tx.exec1("SELECT count(*) FROM ledger_read.posts WHERE title ILIKE '%취미%'")[0].as<int>(),
      2);
  EXPECT_EQ(
      tx.exec1("SELECT count(*) FROM ledger_read.posts WHERE title ILIKE '%club%'")[0].as<int>(),
      1);
  // Hangul must count as word characters for the trigram index to help.
  EXPECT_GT(tx.exec1("SELECT array_length(public.show_trgm('취미를 위한'), 1)")[0].as<int>(), 2);
}

}  // namespace
}  // namespace ledger::projections

#include "projections/replay.h"

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "commands/fold.h"
#include "common/time_format.h"
#include "projections/array_literal.h"
#include "projections/binary_copy.h"
#include "projections/checkpoint.h"
#include "projections/database.h"
#include "projections/funding_history.h"
#include "projections/migrations.h"

namespace ledger::projections {
namespace {

// SQLSTATE lock_not_available: lock_timeout expired.
constexpr std::string_view kLockNotAvailable = "55P03";
// SQLSTATE deadlock_detected.
constexpr std::string_view kDeadlockDetected = "40P01";

bool IsIdentifier(std::string_view name) {
  bool ok = !name.empty() && (name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'));
  for (const char c : name) {
    ok = ok && (c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  return ok;
}

Status LockReplay(pqxx::connection& connection, const std::string& schema) {
  bool locked = false;
  LEDGER_RETURN_IF_ERROR(Guard("taking the replay lock", [&]() -> Status {
    pqxx::nontransaction tx(connection);
    locked = tx.exec_params1("SELECT pg_try_advisory_lock($1, hashtext($2))", kReplayLockClass,
                             schema)[0]
                 .as<bool>();
    return Status::Ok();
  }));
  if (!locked) {
    return Status::FailedPrecondition("another replay of schema " + schema + " is running");
  }
  return Status::Ok();
}

// Unlocks the replay lock before the connection closes. A closed
// connection's session locks go only once its backend has exited, after the
// client has returned: a replay started right after this one (a retry after
// a stop) could otherwise still find the lock taken.
class ReplayUnlock {
 public:
  ReplayUnlock(pqxx::connection& connection, std::string schema)
      : connection_(connection), schema_(std::move(schema)) {}
  ReplayUnlock(const ReplayUnlock&) = delete;
  ReplayUnlock& operator=(const ReplayUnlock&) = delete;
  ~ReplayUnlock() {
    try {
      pqxx::nontransaction tx(connection_);
      tx.exec_params("SELECT pg_advisory_unlock($1, hashtext($2))", kReplayLockClass, schema_);
    } catch (const std::exception&) {
      // A broken connection: its backend ends and the lock with it.
    }
  }

 private:
  pqxx::connection& connection_;
  std::string schema_;
};

Status CreateBuiltSchema(pqxx::connection& connection, const std::string& built) {
  LEDGER_RETURN_IF_ERROR(Guard("dropping " + built, [&]() -> Status {
    pqxx::nontransaction(connection)
        .exec0("DROP SCHEMA IF EXISTS " + QuoteIdentifier(built) + " CASCADE");
    return Status::Ok();
  }));
  return ApplyMigrations(connection, built);
}

// The constraints and indexes of the loaded tables, as statements that drop
// them before the COPY and recreate them after it.
struct DeferredIndexes {
  std::vector<std::string> drop;    // in order: foreign keys, indexes, keys
  std::vector<std::string> create;  // in order: keys, indexes, foreign keys
};

// Building an index once over all rows and checking a foreign key with one
// join is several times faster than maintaining them row by row (200 000
// backers rows: about 1.0 s against 0.2 s). The definitions are read from the
// catalog, so the migrations stay the only definition of the schema.
DeferredIndexes DeferIndexes(pqxx::work& tx, const std::string& built,
                             std::span<const std::string_view> tables) {
  ArrayLiteral names;
  for (const std::string_view table : tables) names.Add(table);
  const pqxx::result rows = tx.exec_params(R"sql(
    WITH loaded AS (
      SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]))
    SELECT drop_order, create_order, drop_sql, create_sql FROM (
      SELECT 1 AS drop_order, 3 AS create_order,
             format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS drop_sql,
             format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
                    pg_get_constraintdef(oid)) AS create_sql
      FROM pg_constraint
      WHERE contype = 'f' AND (conrelid IN (SELECT oid FROM loaded)
                               OR confrelid IN (SELECT oid FROM loaded))
      UNION ALL
      SELECT 2, 2, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
      FROM pg_index i
      WHERE i.indrelid IN (SELECT oid FROM loaded)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                        WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                          AND k.contype IN ('p', 'u', 'x'))
      UNION ALL
      SELECT 3, 1,
             format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
             format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
                    pg_get_constraintdef(oid))
      FROM pg_constraint
      WHERE contype IN ('p', 'u', 'x') AND conrelid IN (SELECT oid FROM loaded)) d
  )sql",
                                           built, names.Finish());
  std::vector<std::pair<int, std::string>> drop;
  std::vector<std::pair<int, std::string>> create;
  for (const pqxx::row& r : rows) {
    drop.emplace_back(r[0].as<int>(), r[2].as<std::string>());
    create.emplace_back(r[1].as<int>(), r[3].as<std::string>());
  }
  // Stable: statements of one kind keep the catalog's order.
  const auto by_order = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::stable_sort(drop.begin(), drop.end(), by_order);
  std::stable_sort(create.begin(), create.end(), by_order);
  DeferredIndexes out;
  for (auto& [order, sql] : drop) out.drop.push_back(std::move(sql));
  for (auto& [order, sql] : create) out.create.push_back(std::move(sql));
  return out;
}

// A post the read tables hold a row for: created and not deleted.
bool IsLive(const commands::PostState& p) { return p.exists() && !p.deleted; }

// The tables a replay loads, on two connections at once: the fundings (one
// row per funding, its key and one index: most of the build) on one, the
// rest on the other. With the COPYs in the binary format the server's side
// of a COPY is the slower one, and one backend uses one core.
constexpr std::string_view kPostTables[] = {"posts", "post_stats", "backers"};
constexpr std::string_view kFundingTables[] = {"fundings"};

// `tables` of schema `built`, qualified and separated by commas.
std::string Qualified(const std::string& built, std::span<const std::string_view> tables) {
  const std::string schema = QuoteIdentifier(built);
  std::string list;
  for (const std::string_view table : tables) {
    if (!list.empty()) list += ", ";
    list += schema + "." + std::string(table);
  }
  return list;
}

// Readies the empty `tables` of `built` for the COPYs in `tx`: session
// settings for the load, the tables truncated, their constraints and indexes
// dropped. Returns the statements that recreate those after the COPYs.
DeferredIndexes PrepareLoad(pqxx::work& tx, const std::string& built,
                            std::span<const std::string_view> tables) {
  tx.exec0("SET LOCAL maintenance_work_mem = '" + std::to_string(kReplayIndexMemoryMb) + "MB'");
  // Every name below is written qualified, and the catalog prints the
  // deferred definitions qualified only for schemas off the search path.
  tx.exec0("SET LOCAL search_path TO pg_catalog");
  // Emptied (they are) in this transaction: with wal_level=minimal, as the
  // embedded cluster runs, the COPYs that follow then skip the WAL and the
  // files are synced at commit instead.
  tx.exec0("TRUNCATE " + Qualified(built, tables));
  DeferredIndexes deferred = DeferIndexes(tx, built, tables);
  for (const std::string& sql : deferred.drop) tx.exec0(sql);
  return deferred;
}

// Recreates what PrepareLoad dropped, then gives the planner statistics for
// the loaded tables, as after any bulk load: tables swapped in without them
// were read with plans for empty tables (a verify of a million events sorted
// its backers on disk and scanned whole tables) until autovacuum came round
// to them.
void FinishLoad(pqxx::work& tx, const std::string& built, const DeferredIndexes& deferred,
                std::span<const std::string_view> tables) {
  for (const std::string& sql : deferred.create) tx.exec0(sql);
  tx.exec0("ANALYZE " + Qualified(built, tables));
}

// COPYs the posts row of every live post in `posts` (index id - 1) into
// `schema`.posts (`schema` quoted). Returns the rows written.
int64_t CopyPosts(pqxx::work& tx, const std::string& schema,
                  std::span<const commands::PostState> posts) {
  int64_t rows = 0;
  pqxx::stream_to out{
      tx, schema + ".posts",
      std::vector<std::string>{"id", "title", "uploader", "owner", "description", "target_amount",
                               "funding_unit", "end_date", "closes_at", "created_at",
                               "funding_model", "max_fundings_per_backer", "status"}};
  for (const commands::PostState& p : posts) {
    if (!IsLive(p)) continue;
    out << std::make_tuple(
        p.id, p.title, p.uploader, p.owner, p.description, p.target_amount, p.funding_unit,
        FormatDate(p.end_date), FormatTimestamp(p.closes_at), FormatTimestamp(p.created_at),
        std::string(events::FundingModelName(p.funding_model)), p.max_fundings_per_backer,
        std::string(PostStatusName(StatusOf(p.settlement))));
    ++rows;
  }
  out.complete();
  return rows;
}

// COPYs the post_stats row of every live post into `schema`.post_stats.
// REQUIRES: `last_position` is per post, like `posts` (FoldedLog's).
void CopyPostStats(pqxx::work& tx, const std::string& schema,
                   std::span<const commands::PostState> posts,
                   std::span<const int64_t> last_position) {
  BinaryCopy out{tx,
                 schema + ".post_stats",
                 {"id", "total_funded", "participant_count", "funding_count", "version",
                  "last_position", "title"}};
  for (size_t i = 0; i < posts.size(); ++i) {
    const commands::PostState& p = posts[i];
    if (!IsLive(p)) continue;
    out.Row(7);
    out.Int8(p.id);
    out.Int8(p.total_funded);
    out.Int8(p.participant_count());
    out.Int8(p.funding_count);
    out.Int8(p.version);
    out.Int8(last_position[i]);
    out.Text(p.title);
  }
  out.Complete();
}

// COPYs the backers rows of every live post into `schema`.backers. Returns
// the rows written.
int64_t CopyBackers(pqxx::work& tx, const std::string& schema,
                    std::span<const commands::PostState> posts) {
  int64_t rows = 0;
  BinaryCopy out{tx, schema + ".backers", {"post_id", "backer", "units", "amount", "fundings"}};
  // In primary-key order (byte order is the order of the C and C.UTF-8
  // collations): the key's index build then finds its input sorted.
  std::vector<const std::pair<const std::string, commands::BackerState>*> sorted;
  for (const commands::PostState& p : posts) {
    if (!IsLive(p)) continue;
    sorted.clear();
    for (const auto& entry : p.backers) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* entry : sorted) {
      const commands::BackerState& total = entry->second;
      out.Row(5);
      out.Int8(p.id);
      out.Text(entry->first);
      out.Int8(total.units);
      out.Int8(total.amount);
      out.Int8(total.fundings);
      ++rows;
    }
  }
  out.Complete();
  return rows;
}

// COPYs every funding into `schema`.fundings, in position order (its key).
int64_t CopyFundings(pqxx::work& tx, const std::string& schema,
                     std::span<const FundingRecord> fundings) {
  BinaryCopy out{tx,
                 schema + ".fundings",
                 {"position", "post_id", "backer", "units", "amount", "recorded_at", "state"}};
  for (const FundingRecord& f : fundings) {
    out.Row(7);
    out.Int8(f.position);
    out.Int8(f.post_id);
    out.Text(f.backer);
    out.Int8(f.units);
    out.Int8(f.amount);
    out.TimestampTz(f.recorded_at);
    out.Text(FundingStateName(f.state));
  }
  out.Complete();
  return static_cast<int64_t>(fundings.size());
}

// COPYs every funding into `built`.fundings on a connection of its own, in a
// transaction of its own, and commits it.
Status LoadFundings(const std::string& conninfo, const std::string& built,
                    const FundingHistory& history, int64_t* rows) {
  LEDGER_ASSIGN_OR_RETURN(auto connection, Connect(conninfo));
  return Guard("loading " + built + ".fundings", [&]() -> Status {
    pqxx::work tx(*connection);
    const DeferredIndexes deferred = PrepareLoad(tx, built, kFundingTables);
    *rows = CopyFundings(tx, QuoteIdentifier(built), history.records());
    FinishLoad(tx, built, deferred, kFundingTables);
    tx.commit();
    return Status::Ok();
  });
}

// Writes the live posts, their backers, every funding and the checkpoint into
// `built`, with COPY. The fundings load on a second connection at the same
// time (LoadFundings); the checkpoint, which says the tables are whole,
// commits only after they did.
Status Load(pqxx::connection& connection, const std::string& conninfo, const std::string& built,
            const commands::FoldedLog& folded, const FundingHistory& history,
            const std::string& projector_name, ReplayReport* report) {
  const std::string schema = QuoteIdentifier(built);
  Status fundings_status;
  int64_t fundings = 0;
  // Joined on every way out (a jthread joins when destroyed): an error on
  // this connection does not stop the other load, which then commits
  // fundings into a schema that is never swapped in (it has no checkpoint).
  std::jthread fundings_load(
      [&] { fundings_status = LoadFundings(conninfo, built, history, &fundings); });
  return Guard("loading " + built, [&]() -> Status {
    pqxx::work tx(connection);
    const DeferredIndexes deferred = PrepareLoad(tx, built, kPostTables);
    const int64_t posts = CopyPosts(tx, schema, folded.posts);
    CopyPostStats(tx, schema, folded.posts, folded.last_position);
    const int64_t backers = CopyBackers(tx, schema, folded.posts);
    FinishLoad(tx, built, deferred, kPostTables);
    InsertCheckpoint(tx, built, projector_name, events::LogHead{folded.position, folded.hash});
    fundings_load.join();
    LEDGER_RETURN_IF_ERROR(fundings_status);
    tx.commit();
    report->posts = posts;
    report->backers = backers;
    report->fundings = fundings;
    return Status::Ok();
  });
}

// One attempt at the swap. Sets *busy when the locks were not granted in
// time (nothing changed then).
Status SwapOnce(pqxx::connection& connection, const std::string& live, const std::string& built,
                bool* busy) {
  const std::string retired = live + std::string(kRetiredSchemaSuffix);
  return Guard("swapping " + built + " in as " + live, [&]() -> Status {
    try {
      pqxx::work tx(connection);
      tx.exec0("SET LOCAL lock_timeout = " + std::to_string(kSwapLockTimeoutMs));
      const bool live_exists =
          !tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", live).empty();
      if (live_exists) {
        // Readers of post_view lock the view, then posts and post_stats. The
        // DROP below would lock the old tables one by one in catalog order
        // and could deadlock with such a reader; taking everything here, in
        // one statement starting with the view (which locks its tables too),
        // waits for readers instead.
        const pqxx::result present = tx.exec_params(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname IN ('post_view', 'posts', 'post_stats', "
            "'checkpoints', 'backers', 'fundings')",
            live);
        std::vector<std::string> names;
        for (const char* name :
             {"post_view", "posts", "post_stats", "checkpoints", "backers", "fundings"}) {
          for (const pqxx::row& r : present) {
            if (r[0].as<std::string>() == name) names.push_back(name);
          }
        }
        if (!names.empty()) {
          std::string lock = "LOCK TABLE ";
          for (size_t i = 0; i < names.size(); ++i) {
            if (i > 0) lock += ", ";
            lock += QuoteIdentifier(live) + "." + QuoteIdentifier(names[i]);
          }
          tx.exec0(lock + " IN ACCESS EXCLUSIVE MODE");
        }
        // Only ever exists inside this transaction; a leftover would be from
        // an unrelated hand, and would make the rename fail.
        tx.exec0("DROP SCHEMA IF EXISTS " + QuoteIdentifier(retired) + " CASCADE");
        tx.exec0("ALTER SCHEMA " + QuoteIdentifier(live) + " RENAME TO " +
                 QuoteIdentifier(retired));
      }
      tx.exec0("ALTER SCHEMA " + QuoteIdentifier(built) + " RENAME TO " + QuoteIdentifier(live));
      if (live_exists) tx.exec0("DROP SCHEMA " + QuoteIdentifier(retired) + " CASCADE");
      tx.commit();
      return Status::Ok();
    } catch (const pqxx::sql_error& e) {
      // A deadlock with a writer (the projector locks its tables in its own
      // order) rolled this attempt back like a lock timeout: try again.
      if (e.sqlstate() != kLockNotAvailable && e.sqlstate() != kDeadlockDetected) throw;
      *busy = true;
      return Status::Unavailable("swapping " + built + " in as " + live +
                                 ": the live tables stayed locked for " +
                                 std::to_string(kSwapLockTimeoutMs) + " ms");
    }
  });
}

Status Swap(pqxx::connection& connection, const std::string& live, const std::string& built) {
  Status status;
  for (int attempt = 1; attempt <= kSwapAttempts; ++attempt) {
    bool busy = false;
    status = SwapOnce(connection, live, built, &busy);
    if (!busy) break;
    if (attempt < kSwapAttempts) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kSwapRetryDelayMs));
    }
  }
  if (!status.ok()) {
    return status.WithContext("the rebuilt tables are kept in schema " + built +
                              "; the live schema is unchanged");
  }
  return status;
}

}  // namespace

Status CheckSchemaName(std::string_view schema) {
  const size_t longest_suffix = std::max(kReplaySchemaSuffix.size(), kRetiredSchemaSuffix.size());
  if (!IsIdentifier(schema) || schema.size() + longest_suffix > kMaxIdentifierBytes) {
    return Status::InvalidArgument("schema name \"" + std::string(schema) +
                                   "\" must match [a-z_][a-z0-9_]* and leave room for \"" +
                                   std::string(kReplaySchemaSuffix) + "\" within " +
                                   std::to_string(kMaxIdentifierBytes) + " bytes");
  }
  return Status::Ok();
}

Result<ReplayReport> Replay(const events::EventLog& log, const std::string& conninfo,
                            const ReplayOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  const Clock::time_point started = Clock::now();
  LEDGER_RETURN_IF_ERROR(CheckSchemaName(options.schema));
  const int64_t to_position = options.to_position == 0 ? log.Head().position : options.to_position;
  const std::string built = options.schema + std::string(kReplaySchemaSuffix);

  LEDGER_ASSIGN_OR_RETURN(auto connection, Connect(conninfo));
  LEDGER_RETURN_IF_ERROR(LockReplay(*connection, options.schema));
  const ReplayUnlock unlock(*connection, options.schema);
  const auto stopped = [&options](std::string_view when) -> Status {
    if (!options.stop || !options.stop()) return Status::Ok();
    return Status::Cancelled("replay stopped " + std::string(when) + "; the live schema " +
                             options.schema + " is unchanged");
  };
  FundingHistory history;
  // (FoldLog refuses a position outside the log; the room is for one in it.)
  history.Reserve(static_cast<size_t>(std::clamp<int64_t>(to_position, 0, log.Head().position)));
  auto folding =
      commands::FoldLog(log, to_position, options.progress, options.stop,
                        [&history](const events::Event& e, const commands::PostState& before) {
                          history.Observe(e, before);
                        });
  if (folding.status().code() == Status::Code::kCancelled) {
    return Status::Cancelled("replay stopped while folding the log; the live schema " +
                             options.schema + " is unchanged");
  }
  LEDGER_ASSIGN_OR_RETURN(const commands::FoldedLog folded, std::move(folding));

  ReplayReport report;
  report.position = folded.position;
  report.hash = folded.hash;
  report.events = folded.events;
  report.fold_seconds = seconds_since(started);
  const Clock::time_point build_started = Clock::now();
  LEDGER_RETURN_IF_ERROR(stopped("before building " + built));
  LEDGER_RETURN_IF_ERROR(CreateBuiltSchema(*connection, built));
  LEDGER_RETURN_IF_ERROR(
      Load(*connection, conninfo, built, folded, history, options.projector_name, &report));
  report.build_seconds = seconds_since(build_started);
  if (!options.dry_run) LEDGER_RETURN_IF_ERROR(stopped("before the swap"));
  if (options.dry_run) {
    report.built_schema = built;
  } else {
    const Clock::time_point swap_started = Clock::now();
    LEDGER_RETURN_IF_ERROR(Swap(*connection, options.schema, built));
    report.swap_seconds = seconds_since(swap_started);
    report.swapped = true;
    report.built_schema = options.schema;
  }
  report.seconds = seconds_since(started);
  return report;
}

}  // namespace ledger::projections

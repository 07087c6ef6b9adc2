#include "projections/verify.h"

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "commands/fold.h"
#include "common/money.h"
#include "common/time_format.h"
#include "projections/binary_copy.h"
#include "projections/checkpoint.h"
#include "projections/database.h"
#include "projections/replay.h"
#include "projections/verify_parts.h"

namespace ledger::projections {
namespace {

// Timestamps are read back in FormatTimestamp's form, so that the text of the
// log and of the table compare directly whatever the session's TimeZone.
constexpr std::string_view kTimestampFormat = R"('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')";

// The posts columns compared, in table order after id, as the query below
// selects them.
constexpr std::string_view kPostColumns[] = {"title",
                                             "uploader",
                                             "owner",
                                             "description",
                                             "target_amount",
                                             "funding_unit",
                                             "end_date",
                                             "closes_at",
                                             "created_at",
                                             "total_funded",
                                             "participant_count",
                                             "funding_count",
                                             "version",
                                             "last_position",
                                             "funding_model",
                                             "max_fundings_per_backer",
                                             "status",
                                             "post_stats.title"};
constexpr size_t kPostColumnCount = std::size(kPostColumns);
constexpr pqxx::row::size_type kTotalFundedColumn = 10;  // index in the row (id is 0)

using Backers = std::map<std::string, commands::BackerTotal>;  // by name, sorted

// The expected text of each of kPostColumns for a live post.
std::vector<std::string> ExpectedColumns(const commands::PostState& p, int64_t last_position) {
  return {p.title,
          p.uploader,
          p.owner,
          p.description,
          std::to_string(p.target_amount),
          std::to_string(p.funding_unit),
          FormatDate(p.end_date),
          FormatTimestamp(p.closes_at),
          FormatTimestamp(p.created_at),
          std::to_string(p.total_funded),
          std::to_string(p.participant_count()),
          std::to_string(p.funding_count),
          std::to_string(p.version),
          std::to_string(last_position),
          std::string(events::FundingModelName(p.funding_model)),
          p.max_fundings_per_backer ? std::to_string(*p.max_fundings_per_backer) : "NULL",
          std::string(PostStatusName(StatusOf(p.settlement))),
          p.title};
}

void CompareBackers(int64_t id, const commands::PostState& p, const Backers& found,
                    Collector& out) {
  std::vector<std::string> names;
  names.reserve(p.backers.size() + found.size());
  for (const auto& [name, total] : p.backers) names.push_back(name);
  for (const auto& [name, total] : found) names.push_back(name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    const auto want = p.backers.find(name);
    const auto got = found.find(name);
    const std::string field = "backers/" + name;
    if (got == found.end()) {
      out.Add(id, field, "present", "absent");
    } else if (want == p.backers.end()) {
      out.Add(id, field, "absent", "present");
    } else {
      const auto check = [&](std::string_view column, int64_t expected, int64_t actual) {
        if (expected != actual) {
          out.Add(id, field + "/" + std::string(column), std::to_string(expected),
                  std::to_string(actual));
        }
      };
      check("units", want->second.units, got->second.units);
      check("amount", want->second.amount, got->second.amount);
      check("fundings", want->second.fundings, got->second.fundings);
    }
  }
}

// Money conservation inside the tables: a post's backers add up to its row's
// total_funded. `sum` is nothing when the backers' amounts overflow int64.
void CompareBackerSum(int64_t id, const pqxx::row& row, const std::optional<int64_t>& sum,
                      Collector& out) {
  const pqxx::field total = row[kTotalFundedColumn];
  const std::string row_total = total.is_null() ? "NULL" : total.c_str();
  const std::string backers_total = sum ? std::to_string(*sum) : "overflows int64";
  if (row_total != backers_total) out.Add(id, "total_funded/backers", row_total, backers_total);
}

void CompareBackerSum(int64_t id, const pqxx::row& row, const Backers& found, Collector& out) {
  std::optional<int64_t> sum = 0;
  for (const auto& [name, total] : found) {
    if (sum) sum = CheckedAdd(*sum, total.amount);
  }
  CompareBackerSum(id, row, sum, out);
}

// Every column of a live post's row.
void CompareColumns(int64_t id, const commands::PostState& live, int64_t last_position,
                    const pqxx::row& row, Collector& out) {
  const std::vector<std::string> expected = ExpectedColumns(live, last_position);
  for (size_t i = 0; i < kPostColumnCount; ++i) {
    const pqxx::field f = row[static_cast<pqxx::row::size_type>(i + 1)];
    const std::string actual = f.is_null() ? "NULL" : f.c_str();
    if (actual != expected[i]) out.Add(id, std::string(kPostColumns[i]), expected[i], actual);
  }
}

// `live` is null when the log has no live post `id`.
void ComparePost(int64_t id, const commands::PostState* live, int64_t last_position,
                 const pqxx::row* row, const Backers& found, Collector& out) {
  if (live == nullptr) {
    if (row != nullptr) out.Add(id, "row", "absent", "present");
    for (const auto& [name, total] : found) out.Add(id, "backers/" + name, "absent", "present");
    return;
  }
  if (row == nullptr) {
    out.Add(id, "row", "present", "absent");
    return;
  }
  CompareColumns(id, *live, last_position, *row, out);
  CompareBackers(id, *live, found, out);
  CompareBackerSum(id, *row, found, out);
}

// A backers row as the binary COPY gave it: a value is nothing where the
// column was NULL or not a bigint.
struct BackerRow {
  int64_t post_id = 0;
  std::optional<std::string> name;
  std::optional<int64_t> units;
  std::optional<int64_t> amount;
  std::optional<int64_t> fundings;
};

// What one pass over a post's backers rows found, without building a map of
// them: most posts match the log row for row, and a map per post (a tree of
// strings) was the comparison's main cost. A post whose rows do not all
// match, one by one and each name once, is compared again in full
// (ComparePost), which names every difference in the same order as before.
struct BackerRowsSeen {
  int64_t rows = 0;
  bool all_match = true;           // each row a backer of the live post, equal totals
  std::optional<int64_t> sum = 0;  // the rows' amounts; nothing once it overflows
  std::string_view last_name;      // rows arrive by name: a repeat is adjacent
};

void SeeBackerRow(const commands::PostState* live, const BackerRow& r, BackerRowsSeen& seen) {
  ++seen.rows;
  if (!r.name || !r.units || !r.amount || !r.fundings) {
    seen.all_match = false;  // the full comparison refuses it
    return;
  }
  const std::string_view name = *r.name;
  if (seen.sum) seen.sum = CheckedAdd(*seen.sum, *r.amount);
  if (seen.rows > 1 && name == seen.last_name) seen.all_match = false;
  seen.last_name = name;
  if (!seen.all_match || live == nullptr) {
    seen.all_match = false;
    return;
  }
  const auto want = live->backers.find(name);
  if (want == live->backers.end() || want->second.units != *r.units ||
      want->second.amount != *r.amount || want->second.fundings != *r.fundings) {
    seen.all_match = false;
  }
}

// A backers row's totals, for a post compared in full; a row the
// comparison cannot read fails verify, naming it.
commands::BackerTotal TotalOf(const BackerRow& r) {
  if (!r.name || !r.units || !r.amount || !r.fundings) {
    throw pqxx::conversion_error("a backers row of post " + std::to_string(r.post_id) +
                                 " with a NULL or a value that is not a bigint");
  }
  return commands::BackerTotal{*r.units, *r.amount, *r.fundings};
}

// Compares post `id` (known to the fold) with its row (null: none) and its
// backers rows, `group`.
void ComparePostRows(int64_t id, const commands::FoldedLog& folded, const pqxx::row* row,
                     std::span<const BackerRow> group, Collector& out) {
  const auto i = static_cast<size_t>(id - 1);
  const commands::PostState& p = folded.posts[i];
  const commands::PostState* live = p.exists() && !p.deleted ? &p : nullptr;
  BackerRowsSeen seen;
  for (const BackerRow& r : group) SeeBackerRow(live, r, seen);
  if (!seen.all_match || live == nullptr || row == nullptr ||
      seen.rows != static_cast<int64_t>(live->backers.size())) {
    Backers found;
    for (const BackerRow& r : group) {
      const commands::BackerTotal total = TotalOf(r);
      found[*r.name] = total;
    }
    ComparePost(id, live, folded.last_position[i], row, found, out);
    return;
  }
  // Every backer matched: the columns, and the rows' sum against the total.
  CompareColumns(id, *live, folded.last_position[i], *row, out);
  CompareBackerSum(id, *row, seen.sum, out);
}

// Compares posts lo..hi (all known to the fold) with their rows. The
// backers rows, as many as (post, backer) pairs, millions in a large
// ledger, stream in binary in key order (the primary key's index), one
// post's at a time in `group` (its room kept from post to post), each post
// compared as its rows end. The text format had the server print every
// number for this side to parse again.
void CompareRange(pqxx::dbtransaction& tx, const std::string& s, const commands::FoldedLog& folded,
                  int64_t lo, int64_t hi, std::vector<BackerRow>& group, Collector& out) {
  const std::string ts = std::string(kTimestampFormat);
  const pqxx::result posts = tx.exec_params(
      "SELECT id, p.title, uploader, owner, description, target_amount, funding_unit, "
      "to_char(end_date, 'YYYY-MM-DD'), to_char(closes_at AT TIME ZONE 'UTC', " +
          ts + "), to_char(created_at AT TIME ZONE 'UTC', " + ts +
          "), s.total_funded, s.participant_count, s.funding_count, s.version, s.last_position, "
          "p.funding_model, p.max_fundings_per_backer, p.status, s.title "
          "FROM " +
          s + ".posts p LEFT JOIN " + s +
          ".post_stats s USING (id) WHERE id BETWEEN $1 AND $2 ORDER BY id",
      lo, hi);
  std::vector<std::optional<pqxx::row>> rows(static_cast<size_t>(hi - lo + 1));
  for (pqxx::result::size_type k = 0; k < posts.size(); ++k) {
    rows[static_cast<size_t>(posts[k][0].as<int64_t>() - lo)] = posts[k];
  }
  const auto row_of = [&rows, lo](int64_t id) -> const pqxx::row* {
    const std::optional<pqxx::row>& r = rows[static_cast<size_t>(id - lo)];
    return r ? &*r : nullptr;
  };
  int64_t next = lo;  // the first post not compared yet
  // Compares the posts before `id` (they have no backers rows), then `id`
  // with `group`.
  const auto compare_through = [&](int64_t id) {
    for (; next < id; ++next) ComparePostRows(next, folded, row_of(next), {}, out);
    ComparePostRows(id, folded, row_of(id), group, out);
    next = id + 1;
    group.clear();
  };
  BinaryCopyOut copy(tx, "SELECT post_id, backer, units, amount, fundings FROM " + s +
                             ".backers WHERE post_id BETWEEN " + std::to_string(lo) + " AND " +
                             std::to_string(hi) + " ORDER BY post_id, backer");
  group.clear();
  while (copy.Next()) {
    // post_id leads the primary key: a bigint, never NULL; the rows come
    // in its order.
    const std::optional<int64_t> post_id = copy.Int8(0);
    if (!post_id || *post_id < next || *post_id > hi) {
      throw pqxx::failure("a backers row out of post_id order");
    }
    if (!group.empty() && group.front().post_id != *post_id) compare_through(group.front().post_id);
    BackerRow& r = group.emplace_back();
    r.post_id = *post_id;
    if (!copy.IsNull(1)) r.name.emplace(copy.Bytes(1));
    r.units = copy.Int8(2);
    r.amount = copy.Int8(3);
    r.fundings = copy.Int8(4);
  }
  if (!group.empty()) compare_through(group.front().post_id);
  for (; next <= hi; ++next) ComparePostRows(next, folded, row_of(next), {}, out);
}

// Whether `table` has a row whose `column` (the first of an index) is
// outside 1..post_count. min() and max() read the two ends of the index,
// whatever the planner's statistics say: a freshly loaded table has none
// until it is analyzed, and the search for such rows was then a sequential
// scan of the whole table.
bool HasRowsOutside(pqxx::transaction_base& tx, const std::string& s, std::string_view table,
                    std::string_view column, int64_t post_count) {
  const std::string c(column);
  const pqxx::row ends =
      tx.exec1("SELECT min(" + c + "), max(" + c + ") FROM " + s + "." + std::string(table));
  if (ends[0].is_null()) return false;  // an empty table
  return ends[0].as<int64_t>() < 1 || ends[1].as<int64_t>() > post_count;
}

// Rows of posts the log never created (ids outside 1..post_count): the first
// ones are listed, all are counted.
void CompareUnknownPosts(pqxx::transaction_base& tx, const std::string& s, int64_t post_count,
                         Collector& out) {
  const auto limit = static_cast<int64_t>(kMaxReportedMismatches);
  if (HasRowsOutside(tx, s, "posts", "id", post_count)) {
    const std::string posts = " FROM " + s + ".posts WHERE id < 1 OR id > $1";
    const pqxx::result extra_posts =
        tx.exec_params("SELECT id" + posts + " ORDER BY id LIMIT $2", post_count, limit);
    for (const pqxx::row& r : extra_posts) {
      out.Add(r[0].as<int64_t>(), "row", "absent", "present");
    }
    out.Count(tx.exec_params1("SELECT count(*)" + posts, post_count)[0].as<int64_t>() -
              static_cast<int64_t>(extra_posts.size()));
  }
  if (!HasRowsOutside(tx, s, "backers", "post_id", post_count)) return;
  const std::string backers = " FROM " + s + ".backers WHERE post_id < 1 OR post_id > $1";
  const pqxx::result extra_backers = tx.exec_params(
      "SELECT post_id, backer" + backers + " ORDER BY post_id, backer LIMIT $2", post_count, limit);
  for (const pqxx::row& r : extra_backers) {
    out.Add(r[0].as<int64_t>(), "backers/" + r[1].as<std::string>(), "absent", "present");
  }
  out.Count(tx.exec_params1("SELECT count(*)" + backers, post_count)[0].as<int64_t>() -
            static_cast<int64_t>(extra_backers.size()));
}

void SetChain(const events::ChainCheck& chain, VerifyReport* report) {
  report->chain_ok = chain.ok;
  report->first_bad_position = chain.first_bad_position;
  report->chain_problem = chain.problem;
  report->events_checked = chain.events_checked;
}

// Everything but a missing schema, inside the snapshot.
Status CompareTables(const events::EventLog& log, const std::string& conninfo,
                     pqxx::dbtransaction& tx, const VerifyOptions& options, VerifyReport* report) {
  const std::string_view schema = options.schema;
  const std::string_view projector_name = options.projector_name;
  Collector out(report);
  const std::string s = QuoteIdentifier(schema);
  // Locked before the snapshot is taken (LOCK needs none; the first query
  // takes it): a replay's swap then waits for this transaction instead of
  // replacing the tables between its queries, which would show this snapshot
  // the new, still invisible, rows as empty tables.
  tx.exec0("LOCK TABLE " + s + ".checkpoints, " + s + ".posts, " + s + ".post_stats, " + s +
           ".backers, " + s + ".fundings IN ACCESS SHARE MODE");
  const std::optional<StoredCheckpoint> checkpoint =
      ReadCheckpoint(tx, schema, options.projector_name);
  if (options.catch_up) LEDGER_RETURN_IF_ERROR(options.catch_up());
  const int64_t head = log.Head().position;
  int64_t fold_to = 0;
  std::optional<std::string> checkpoint_hash;
  if (!checkpoint) {
    out.Add(0, "checkpoint", "a row named " + std::string(projector_name), "absent");
  } else {
    report->checkpoint_position = checkpoint->position;
    checkpoint_hash = checkpoint->hash_text;
    fold_to = report->checkpoint_position;
    if (fold_to > head) {
      out.Add(0, "checkpoint", "position <= " + std::to_string(head),
              "position " + std::to_string(fold_to));
      fold_to = head;
      checkpoint_hash.reset();
    }
  }
  FundingHistory history;
  history.Reserve(static_cast<size_t>(fold_to));
  // One pass over the log: the whole chain to the head, and the fold to the
  // checkpoint, each record read and hashed once.
  std::function<void(int64_t, int64_t)> progress;
  if (options.chain_progress) progress = options.chain_progress;
  LEDGER_ASSIGN_OR_RETURN(
      commands::WalkedFold walked,
      commands::WalkAndFoldLog(log, fold_to, head, progress, options.stop,
                               [&history](const events::Event& e, const commands::PostState& b) {
                                 history.Observe(e, b);
                               }));
  SetChain(walked.chain, report);
  if (options.stop && options.stop()) return Status::Cancelled("verify stopped after the log");
  if (!walked.folded.ok()) {
    out.Add(0, "log", "events 1.." + std::to_string(fold_to) + " that fold",
            walked.folded.status().message());
    return Status::Ok();
  }
  const commands::FoldedLog* folded = &walked.folded.value();
  if (checkpoint_hash && *checkpoint_hash != events::ToHex(folded->hash)) {
    out.Add(0, "checkpoint", events::ToHex(folded->hash), *checkpoint_hash);
  }
  const auto post_count = static_cast<int64_t>(folded->posts.size());
  // Four parts that only read the fold run at once: the caller's check
  // (with_fold), the posts, backers and unknown rows here, and on two more
  // connections that share this transaction's snapshot, the first half of
  // the fundings, and the second half. (Whole, the fundings were
  // the largest part, and ran alone at the end.) Each part's mismatches are
  // kept apart and joined in the order one pass would find them. (The
  // futures of std::async wait for their threads when destroyed, so an
  // early return or a throw never leaves one reading the fold.)
  std::future<Status> with_fold;
  if (options.with_fold) {
    with_fold =
        std::async(std::launch::async, [&options, folded] { return options.with_fold(*folded); });
  }
  const std::string snapshot = tx.exec1("SELECT pg_export_snapshot()")[0].as<std::string>();
  const auto on_snapshot = [&conninfo, &snapshot](std::string what, VerifyReport& part,
                                                  auto compare) {
    return std::async(std::launch::async, [&conninfo, &snapshot, what = std::move(what), &part,
                                           compare = std::move(compare)] {
      return Guard(what, [&]() -> Status {
        LEDGER_ASSIGN_OR_RETURN(auto connection, Connect(conninfo));
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> other(*connection);
        other.exec0("SET TRANSACTION SNAPSHOT " + other.quote(snapshot));
        Collector found(&part);
        compare(other, found);
        other.commit();
        return Status::Ok();
      });
    });
  };
  const std::span<const FundingRecord> records = history.records();
  // Split at the middle record: positions up to `split`, and after it.
  const int64_t split = records.empty() ? 0 : records[records.size() / 2].position;
  VerifyReport first_half;
  VerifyReport second_half;
  std::future<Status> first =
      on_snapshot("comparing the fundings up to position " + std::to_string(split), first_half,
                  [&s, records, split](pqxx::dbtransaction& t, Collector& found) {
                    CompareFundings(t, s, records, PositionRange{.last = split}, found);
                  });
  std::future<Status> second =
      on_snapshot("comparing the fundings after position " + std::to_string(split), second_half,
                  [&s, records, split](pqxx::dbtransaction& t, Collector& found) {
                    CompareFundings(t, s, records, PositionRange{.after = split}, found);
                  });
  std::vector<BackerRow> group;  // one post's backers rows, its room kept for the next
  for (int64_t lo = 1; lo <= post_count; lo += kVerifyPostsPerQuery) {
    CompareRange(tx, s, *folded, lo, std::min(post_count, lo + kVerifyPostsPerQuery - 1), group,
                 out);
  }
  CompareUnknownPosts(tx, s, post_count, out);
  LEDGER_RETURN_IF_ERROR(first.get());
  LEDGER_RETURN_IF_ERROR(second.get());
  out.Merge(std::move(first_half));
  out.Merge(std::move(second_half));
  CheckBooks(*folded, history, out);
  if (with_fold.valid()) LEDGER_RETURN_IF_ERROR(with_fold.get());
  return Status::Ok();
}

}  // namespace

Result<VerifyReport> Verify(const events::EventLog& log, const std::string& conninfo,
                            const VerifyOptions& options) {
  const std::string_view schema = options.schema;
  LEDGER_RETURN_IF_ERROR(CheckSchemaName(schema));
  VerifyReport report;
  LEDGER_ASSIGN_OR_RETURN(auto connection, Connect(conninfo));
  int64_t tables = 0;
  LEDGER_RETURN_IF_ERROR(Guard("looking for the read tables", [&]() -> Status {
    pqxx::nontransaction tx(*connection);
    tables = tx.exec_params1(
                   "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND "
                   "tablename IN ('posts', 'post_stats', 'backers', 'checkpoints', 'fundings')",
                   std::string(schema))[0]
                 .as<int64_t>();
    return Status::Ok();
  }));
  if (tables != 5) {
    // Nothing to compare: the chain alone, to the head as it is now.
    const int64_t head = log.Head().position;
    std::function<void(int64_t)> progress;
    if (options.chain_progress) {
      progress = [&options, head](int64_t done) { options.chain_progress(done, head); };
    }
    LEDGER_ASSIGN_OR_RETURN(const events::ChainCheck chain,
                            events::VerifyLogChain(log, 1, head, progress));
    SetChain(chain, &report);
    if (options.stop && options.stop()) return Status::Cancelled("verify stopped after the log");
    Collector(&report).Add(
        0, "schema",
        "tables posts, post_stats, backers, fundings and checkpoints in " + std::string(schema),
        std::to_string(tables) + " of them");
    return report;
  }
  LEDGER_RETURN_IF_ERROR(Guard("verifying " + std::string(schema), [&]() -> Status {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(*connection);
    Status compared = CompareTables(log, conninfo, tx, options, &report);
    if (compared.ok()) tx.commit();
    return compared;
  }));
  return report;
}

}  // namespace ledger::projections

#include "projections/projector.h"

#include <algorithm>

#include <pqxx/pqxx>
#include <pthread.h>

#include "common/check.h"
#include "common/log.h"
#include "common/money.h"
#include "common/time_format.h"
#include "events/codec.h"
#include "projections/array_literal.h"
#include "projections/batch_changes.h"
#include "projections/checkpoint.h"
#include "projections/migrations.h"

namespace ledger::projections {
namespace {

std::string Int(int64_t v) { return std::to_string(v); }

Status Fatal(std::string message) { return Status::Corruption(std::move(message)); }

}  // namespace

Projector::Projector(const events::EventLog* log, ProjectorOptions options)
    : log_(log), options_(std::move(options)) {
  LEDGER_CHECK(options_.max_batch_events > 0, "a projector batch holds at least one event");
}

Projector::~Projector() {
  Stop();
  DropPrefetch();
}

Status Projector::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

Status Projector::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Status Projector::EnsureConnected() {
  if (connection_ && connection_->is_open()) return Status::Ok();
  connection_.reset();
  LEDGER_ASSIGN_OR_RETURN(auto connection, Connect(options_.conninfo));
  LEDGER_RETURN_IF_ERROR(ApplyMigrations(*connection, options_.schema));
  connection_ = std::move(connection);
  return Status::Ok();
}

Result<size_t> Projector::Step() {
  {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
  }
  Result<size_t> applied = Status::Unavailable("not run");
  const Status connected = EnsureConnected();
  if (connected.ok()) {
    applied = ApplyBatch();
    if (applied.ok()) VacuumIfDue();
  } else {
    applied = connected;
  }
  std::lock_guard lock(mu_);
  if (applied.ok()) {
    events_applied_.fetch_add(*applied, std::memory_order_relaxed);
    if (!last_error_.ok()) {
      LEDGER_LOG(LogLevel::kInfo, "projector", "database reachable again")
          .Str("projector", options_.name)
          .Int("position", position());
    }
    last_error_ = Status::Ok();
  } else if (applied.status().code() == Status::Code::kCorruption) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    failure_ = applied.status();
    LEDGER_LOG(LogLevel::kError, "projector", "stopped")
        .Str("projector", options_.name)
        .Str("error", failure_.ToString());
  } else {
    // The connection may be broken or mid-transaction: start afresh next time.
    connection_.reset();
    errors_.fetch_add(1, std::memory_order_relaxed);
    // Once per outage, not once per retry.
    if (last_error_.ok()) {
      LEDGER_LOG(LogLevel::kWarn, "projector", "database unavailable; retrying with backoff")
          .Str("projector", options_.name)
          .Str("error", applied.status().ToString());
    }
    last_error_ = applied.status();
  }
  return applied;
}

void Projector::VacuumIfDue() {
  if (updates_since_vacuum_ < options_.vacuum_after_updates) return;
  updates_since_vacuum_ = 0;
  // Outside any transaction (VACUUM cannot run in one). Housekeeping only: a
  // failure is logged and the next batch finds out about the connection.
  const Status vacuumed = Guard("vacuuming post_stats", [&]() -> Status {
    pqxx::nontransaction(*connection_)
        .exec0("VACUUM " + QuoteIdentifier(options_.schema) + ".post_stats");
    return Status::Ok();
  });
  if (!vacuumed.ok()) {
    LEDGER_LOG(LogLevel::kWarn, "projector", "vacuum failed")
        .Str("projector", options_.name)
        .Str("error", vacuumed.ToString());
  }
}

Result<std::vector<events::Event>> Projector::ReadBatch(int64_t from, int64_t to) const {
  std::vector<events::Event> batch;
  LEDGER_RETURN_IF_ERROR(events::ReadEvents(*log_, from, to, options_.max_batch_events,
                                            options_.max_batch_bytes, &batch));
  return batch;
}

void Projector::Prefetch(int64_t from, int64_t to) {
  DropPrefetch();
  prefetch_from_ = from;
  prefetch_ = std::async(std::launch::async, [this, from, to] { return ReadBatch(from, to); });
}

void Projector::DropPrefetch() {
  if (prefetch_.valid()) (void)prefetch_.get();
}

Result<std::vector<events::Event>> Projector::TakeBatch(int64_t from, int64_t to) {
  if (prefetch_.valid() && prefetch_from_ == from) {
    Result<std::vector<events::Event>> prefetched = prefetch_.get();
    // A failed read is done again now rather than reported from the past.
    if (prefetched.ok() && !prefetched->empty()) return prefetched;
  }
  DropPrefetch();
  return ReadBatch(from, to);
}

Result<size_t> Projector::ApplyBatch() {
  const std::string s = QuoteIdentifier(options_.schema);
  size_t applied = 0;
  // An error returned from inside leaves without commit(): the transaction
  // is rolled back and Guard hands the error on as it is.
  const Status status = Guard("projecting events", [&]() -> Status {
    pqxx::work tx(*connection_);
    const StoredCheckpoint stored = LockCheckpoint(tx, options_.schema, options_.name);
    const int64_t known = position_.exchange(stored.position, std::memory_order_acq_rel);
    const events::LogHead head = log_->Head();
    LEDGER_ASSIGN_OR_RETURN(const events::LogHead checkpoint,
                            CheckAgainstHead(stored, head, options_.name));
    // The first checkpoint read after a start (or one another projector of
    // this name moved): readers waiting for it must hear of it even when
    // there is nothing to apply, or a read of a position the tables already
    // hold would wait out its bound after every restart.
    if (known != checkpoint.position && options_.on_committed) {
      options_.on_committed(checkpoint.position);
    }
    if (checkpoint.position == head.position) {
      // Nothing to apply; the genesis row LockCheckpoint inserted (a first
      // start) is kept, so that verify finds the checkpoint of an empty log.
      tx.commit();
      return Status::Ok();
    }

    LEDGER_ASSIGN_OR_RETURN(const std::vector<events::Event> batch,
                            TakeBatch(checkpoint.position + 1, head.position));
    events::LogHead last = checkpoint;
    for (const events::Event& e : batch) {
      LEDGER_RETURN_IF_ERROR(events::CheckFollows(last, e));
      last = {e.position, e.hash};
    }
    if (batch.empty()) {
      return Fatal("hole in the log: position " + Int(checkpoint.position + 1) + " is missing");
    }

    // What follows this batch is read while the statements below run.
    if (last.position < head.position) Prefetch(last.position + 1, head.position);

    LEDGER_ASSIGN_OR_RETURN(auto changes, CoalesceBatch(batch));
    std::map<int64_t, int64_t> participants;  // per post, from what the database did
    // The checkpoint is in this transaction: if a crash loses the commit, the
    // batch is simply applied again, so it need not wait for the WAL flush.
    tx.exec0("SET LOCAL synchronous_commit TO off");

    // Each statement takes a batch's rows as one array parameter per column.
    // 1. Posts created in this batch (and still alive at its end); their
    // figures are written by step 5 like every other post's.
    {
      ArrayLiteral ids, titles, uploaders, owners, descriptions, targets, units, end_dates, closes,
          created_ats;
      for (const auto& [id, c] : changes) {
        if (!c.created || c.deleted) continue;
        const events::PostCreated& p = c.created_data;
        ids.Add(id);
        titles.Add(p.title);
        uploaders.Add(p.uploader);
        owners.Add(p.owner);
        descriptions.Add(p.description);
        targets.Add(p.target_amount);
        units.Add(p.funding_unit);
        end_dates.Add(FormatDate(p.end_date));
        closes.Add(FormatTimestamp(p.closes_at));
        created_ats.Add(FormatTimestamp(c.created_at));
      }
      if (ids.size() > 0) {
        tx.exec_params0("INSERT INTO " + s +
                            ".posts (id, title, uploader, owner, description, target_amount, "
                            "funding_unit, end_date, closes_at, created_at) "
                            "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
                            "$4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::date[], "
                            "$9::timestamptz[], $10::timestamptz[])",
                        ids.Finish(), titles.Finish(), uploaders.Finish(), owners.Finish(),
                        descriptions.Finish(), targets.Finish(), units.Finish(), end_dates.Finish(),
                        closes.Finish(), created_ats.Finish());
        tx.exec_params0("INSERT INTO " + s +
                            ".post_stats (id, version, last_position) "
                            "SELECT id, 1, 1 FROM unnest($1::bigint[]) AS v(id)",
                        ids.Finish());
      }
    }

    // 2. Edits of posts created before this batch (NULL: field unchanged).
    {
      ArrayLiteral ids, titles, uploaders, descriptions, units, end_dates, closes;
      const auto text_or_null = [](ArrayLiteral& column, const std::optional<std::string>& v) {
        v ? column.Add(*v) : column.AddNull();
      };
      for (const auto& [id, c] : changes) {
        if (c.created || c.deleted || !c.has_edits()) continue;
        const events::PostEdited& x = c.edits;
        ids.Add(id);
        text_or_null(titles, x.title);
        text_or_null(uploaders, x.uploader);
        text_or_null(descriptions, x.description);
        x.funding_unit ? units.Add(*x.funding_unit) : units.AddNull();
        x.end_date ? end_dates.Add(FormatDate(*x.end_date)) : end_dates.AddNull();
        x.closes_at ? closes.Add(FormatTimestamp(*x.closes_at)) : closes.AddNull();
      }
      if (ids.size() > 0) {
        tx.exec_params0("UPDATE " + s +
                            ".posts p SET title = COALESCE(v.title, p.title), "
                            "uploader = COALESCE(v.uploader, p.uploader), "
                            "description = COALESCE(v.description, p.description), "
                            "funding_unit = COALESCE(v.funding_unit, p.funding_unit), "
                            "end_date = COALESCE(v.end_date, p.end_date), "
                            "closes_at = COALESCE(v.closes_at, p.closes_at) "
                            "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
                            "$5::bigint[], $6::date[], $7::timestamptz[]) "
                            "AS v(id, title, uploader, description, funding_unit, end_date, "
                            "closes_at) WHERE p.id = v.id",
                        ids.Finish(), titles.Finish(), uploaders.Finish(), descriptions.Finish(),
                        units.Finish(), end_dates.Finish(), closes.Finish());
      }
    }

    // 3. Refunded backers: their stored rows go; what those rows held comes
    // off the post's figures.
    {
      ArrayLiteral ids, backers;
      for (const auto& [id, c] : changes) {
        if (c.deleted) continue;
        for (const auto& [backer, b] : c.backers) {
          if (!b.reset) continue;
          ids.Add(id);
          backers.Add(backer);
        }
      }
      if (ids.size() > 0) {
        const pqxx::result removed = tx.exec_params(
            "DELETE FROM " + s +
                ".backers b USING unnest($1::bigint[], $2::text[]) AS r(post_id, backer) "
                "WHERE b.post_id = r.post_id AND b.backer = r.backer "
                "RETURNING b.post_id, b.fundings",
            ids.Finish(), backers.Finish());
        for (const pqxx::row& row : removed) {
          PostChange& c = changes.at(row[0].as<int64_t>());
          c.fundings_delta -= row[1].as<int64_t>();
          participants[c.id] -= 1;
        }
      }
    }

    // 4. Fundings: add to each backer's row, creating it if new.
    {
      ArrayLiteral ids, backers, units, amounts, fundings;
      for (const auto& [id, c] : changes) {
        if (c.deleted) continue;
        for (const auto& [backer, b] : c.backers) {
          if (b.after.fundings == 0) continue;
          ids.Add(id);
          backers.Add(backer);
          units.Add(b.after.units);
          amounts.Add(b.after.amount);
          fundings.Add(b.after.fundings);
        }
      }
      if (ids.size() > 0) {
        const pqxx::result upserted = tx.exec_params(
            "INSERT INTO " + s +
                ".backers AS b (post_id, backer, units, amount, fundings) "
                "SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], "
                "$5::bigint[]) "
                "ON CONFLICT (post_id, backer) DO UPDATE SET "
                "units = b.units + EXCLUDED.units, amount = b.amount + EXCLUDED.amount, "
                "fundings = b.fundings + EXCLUDED.fundings "
                "RETURNING b.post_id, (b.xmax = 0) AS inserted",
            ids.Finish(), backers.Finish(), units.Finish(), amounts.Finish(), fundings.Finish());
        for (const pqxx::row& row : upserted) {
          if (row[1].as<bool>()) participants[row[0].as<int64_t>()] += 1;
        }
      }
    }

    // 5. Figures, version and last position of every surviving post.
    {
      ArrayLiteral ids, totals, fundings, added, versions, positions;
      for (const auto& [id, c] : changes) {
        if (c.deleted) continue;
        ids.Add(id);
        totals.Add(c.total_delta);
        fundings.Add(c.fundings_delta);
        added.Add(participants[id]);
        versions.Add(c.version);
        positions.Add(c.last_position);
      }
      if (ids.size() > 0) {
        const pqxx::result updated = tx.exec_params(
            "UPDATE " + s +
                ".post_stats p SET total_funded = p.total_funded + v.total, "
                "funding_count = p.funding_count + v.fundings, "
                "participant_count = p.participant_count + v.participants, "
                "version = v.version, last_position = v.pos "
                "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
                "$5::bigint[], $6::bigint[]) AS v(id, total, fundings, participants, version, pos) "
                "WHERE p.id = v.id RETURNING p.id",
            ids.Finish(), totals.Finish(), fundings.Finish(), added.Finish(), versions.Finish(),
            positions.Finish());
        updates_since_vacuum_ += static_cast<int64_t>(updated.size());
        if (updated.size() != ids.size()) {
          return Fatal("read tables out of step with the log: " +
                       Int(static_cast<int64_t>(ids.size())) + " posts changed by events " +
                       Int(checkpoint.position + 1) + ".." + Int(last.position) + " but " +
                       Int(static_cast<int64_t>(updated.size())) + " rows matched");
        }
      }
    }

    // 6. Deleted posts leave the read tables, and their backers with them.
    {
      ArrayLiteral ids;
      for (const auto& [id, c] : changes) {
        if (c.deleted && !c.created) ids.Add(id);
      }
      if (ids.size() > 0) {
        const std::string deleted = ids.Finish();
        for (const char* table :
             {".backers WHERE post_id", ".post_stats WHERE id", ".posts WHERE id"}) {
          tx.exec_params0("DELETE FROM " + s + table + " = ANY($1::bigint[])", deleted);
        }
      }
    }

    // 7. The checkpoint, in the same transaction as the rows.
    WriteCheckpoint(tx, options_.schema, options_.name, last);
    if (options_.before_commit_for_testing) options_.before_commit_for_testing();
    tx.commit();
    applied = batch.size();
    position_.store(last.position, std::memory_order_release);
    if (options_.on_committed) options_.on_committed(last.position);
    return Status::Ok();
  });
  LEDGER_RETURN_IF_ERROR(status);
  return applied;
}

void Projector::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void Projector::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

void Projector::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Projector::Run() {
  pthread_setname_np(pthread_self(), "projector");
  std::chrono::milliseconds backoff = options_.retry_initial;
  while (true) {
    const Result<size_t> step = Step();
    std::chrono::milliseconds pause{0};
    if (step.ok()) {
      backoff = options_.retry_initial;
      if (*step == 0) pause = options_.poll_interval;  // caught up
    } else if (step.status().code() == Status::Code::kCorruption) {
      break;  // failed: reported by Step, never skipped
    } else {
      pause = backoff;  // database unavailable: back off, then reconnect
      backoff = std::min(backoff * 2, options_.retry_max);
    }
    std::unique_lock lock(mu_);
    if (pause.count() > 0) {
      cv_.wait_for(lock, pause, [this] { return stop_ || woken_; });
    }
    woken_ = false;
    if (stop_) break;
  }
  running_ = false;
}

}  // namespace ledger::projections

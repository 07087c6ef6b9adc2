#include "projections/read_table_writer.h"

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "common/time_format.h"
#include "projections/array_literal.h"
#include "projections/database.h"

namespace ledger::projections {
namespace {

int64_t ValueOr0(const std::map<int64_t, int64_t>& per_post, int64_t id) {
  const auto it = per_post.find(id);
  return it == per_post.end() ? 0 : it->second;
}

// The backer changes of posts alive at the batch's end that `pick` takes, as
// the five arrays of one unnest(...) AS v(post_id, backer, units, amount,
// fundings).
struct BackerArrays {
  ArrayLiteral ids, backers, units, amounts, fundings;
};

template <typename Pick>
BackerArrays CollectBackerChanges(const PostChanges& changes, Pick pick) {
  BackerArrays a;
  for (const auto& [id, c] : changes) {
    if (c.deleted) continue;
    for (const auto& [backer, b] : c.backers) {
      if (!pick(b.after)) continue;
      a.ids.Add(id);
      a.backers.Add(backer);
      a.units.Add(b.after.units);
      a.amounts.Add(b.after.amount);
      a.fundings.Add(b.after.fundings);
    }
  }
  return a;
}

// A change that only adds (the row it creates satisfies the table's checks).
bool IsGrowth(const commands::BackerTotal& t) {
  return t.fundings > 0 && t.units > 0 && t.amount > 0;
}

}  // namespace

Result<int64_t> WriteChanges(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                             int64_t first_position, int64_t last_position) {
  StoredBackerDeltas deltas;
  InsertCreatedPosts(tx, schema, changes);
  UpdateEditedPosts(tx, schema, changes);
  SetSettledStatus(tx, schema, changes);
  WriteFundings(tx, schema, changes);
  RemoveRefundedBackers(tx, schema, changes, &deltas);
  UpsertFundings(tx, schema, changes, &deltas);
  TakeCancelledFundings(tx, schema, changes, &deltas);
  LEDGER_ASSIGN_OR_RETURN(const int64_t rewritten, UpdateFigures(tx, schema, changes, deltas,
                                                                 first_position, last_position));
  DeleteDeletedPosts(tx, schema, changes);
  return rewritten;
}

void InsertCreatedPosts(pqxx::work& tx, std::string_view schema, const PostChanges& changes) {
  ArrayLiteral ids, titles, uploaders, owners, descriptions, targets, units, end_dates, closes,
      created_ats, models, limits;
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
    models.Add(events::FundingModelName(p.funding_model));
    p.max_fundings_per_backer ? limits.Add(*p.max_fundings_per_backer) : limits.AddNull();
  }
  if (ids.size() == 0) return;
  const std::string s = QuoteIdentifier(schema);
  tx.exec_prepared0(
      Prepared(tx, "INSERT INTO " + s +
                       ".posts (id, title, uploader, owner, description, target_amount, "
                       "funding_unit, end_date, closes_at, created_at, funding_model, "
                       "max_fundings_per_backer) "
                       "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
                       "$4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::date[], "
                       "$9::timestamptz[], $10::timestamptz[], $11::text[], $12::bigint[])"),
      ids.Finish(), titles.Finish(), uploaders.Finish(), owners.Finish(), descriptions.Finish(),
      targets.Finish(), units.Finish(), end_dates.Finish(), closes.Finish(), created_ats.Finish(),
      models.Finish(), limits.Finish());
  // The title again: the index that orders by total carries it (migration 005).
  tx.exec_prepared0(Prepared(tx, "INSERT INTO " + s +
                                     ".post_stats (id, title, version, last_position) "
                                     "SELECT id, title, 1, 1 "
                                     "FROM unnest($1::bigint[], $2::text[]) AS v(id, title)"),
                    ids.Finish(), titles.Finish());
}

void UpdateEditedPosts(pqxx::work& tx, std::string_view schema, const PostChanges& changes) {
  // NULL in a column: the field is unchanged (the limit, which an edit may
  // set to NULL, has its own "changed" column).
  ArrayLiteral ids, titles, uploaders, descriptions, units, end_dates, closes, models, limit_set,
      limits;
  const auto text_or_null = [](ArrayLiteral& column, const std::optional<std::string>& v) {
    v ? column.Add(*v) : column.AddNull();
  };
  bool retitled = false;
  for (const auto& [id, c] : changes) {
    if (c.created || c.deleted || !c.has_edits()) continue;
    const events::PostEdited& x = c.edits;
    ids.Add(id);
    retitled = retitled || x.title.has_value();
    text_or_null(titles, x.title);
    text_or_null(uploaders, x.uploader);
    text_or_null(descriptions, x.description);
    x.funding_unit ? units.Add(*x.funding_unit) : units.AddNull();
    x.end_date ? end_dates.Add(FormatDate(*x.end_date)) : end_dates.AddNull();
    x.closes_at ? closes.Add(FormatTimestamp(*x.closes_at)) : closes.AddNull();
    x.funding_model ? models.Add(events::FundingModelName(*x.funding_model)) : models.AddNull();
    limit_set.Add(x.max_fundings_per_backer.has_value() ? "true" : "false");
    if (x.max_fundings_per_backer && *x.max_fundings_per_backer) {
      limits.Add(**x.max_fundings_per_backer);
    } else {
      limits.AddNull();
    }
  }
  if (ids.size() == 0) return;
  tx.exec_prepared0(
      Prepared(tx, "UPDATE " + QuoteIdentifier(schema) +
                       ".posts p SET title = COALESCE(v.title, p.title), "
                       "uploader = COALESCE(v.uploader, p.uploader), "
                       "description = COALESCE(v.description, p.description), "
                       "funding_unit = COALESCE(v.funding_unit, p.funding_unit), "
                       "end_date = COALESCE(v.end_date, p.end_date), "
                       "closes_at = COALESCE(v.closes_at, p.closes_at), "
                       "funding_model = COALESCE(v.funding_model, p.funding_model), "
                       "max_fundings_per_backer = CASE WHEN v.limit_set THEN v.max_fundings "
                       "ELSE p.max_fundings_per_backer END "
                       "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
                       "$5::bigint[], $6::date[], $7::timestamptz[], $8::text[], $9::boolean[], "
                       "$10::bigint[]) "
                       "AS v(id, title, uploader, description, funding_unit, end_date, "
                       "closes_at, funding_model, limit_set, max_fundings) WHERE p.id = v.id"),
      ids.Finish(), titles.Finish(), uploaders.Finish(), descriptions.Finish(), units.Finish(),
      end_dates.Finish(), closes.Finish(), models.Finish(), limit_set.Finish(), limits.Finish());
  if (!retitled) return;
  // post_stats keeps a copy of the title for the search walk (migration 005).
  tx.exec_prepared0(Prepared(tx, "UPDATE " + QuoteIdentifier(schema) +
                                     ".post_stats p SET title = v.title "
                                     "FROM unnest($1::bigint[], $2::text[]) AS v(id, title) "
                                     "WHERE p.id = v.id AND v.title IS NOT NULL"),
                    ids.Finish(), titles.Finish());
}

void SetSettledStatus(pqxx::work& tx, std::string_view schema, const PostChanges& changes) {
  ArrayLiteral ids, statuses;
  for (const auto& [id, c] : changes) {
    if (!c.settlement || c.deleted) continue;
    ids.Add(id);
    statuses.Add(PostStatusName(StatusOf(c.settlement)));
  }
  if (ids.size() == 0) return;
  tx.exec_prepared0(
      Prepared(tx, "UPDATE " + QuoteIdentifier(schema) +
                       ".posts p SET status = v.status "
                       "FROM unnest($1::bigint[], $2::text[]) AS v(id, status) WHERE p.id = v.id"),
      ids.Finish(), statuses.Finish());
}

void WriteFundings(pqxx::work& tx, std::string_view schema, const PostChanges& changes) {
  const std::string table = QuoteIdentifier(schema) + ".fundings";
  ArrayLiteral refunded_posts, refunded_backers, refunded_since, cancelled;
  ArrayLiteral positions, posts, backers, units, amounts, recorded, states;
  for (const auto& [id, c] : changes) {
    for (const auto& [backer, b] : c.backers) {
      if (!b.reset) continue;
      refunded_posts.Add(id);
      refunded_backers.Add(backer);
      refunded_since.Add(c.created_position);
    }
    for (const int64_t position : c.cancelled_earlier) cancelled.Add(position);
    for (const auto& [position, f] : c.new_fundings) {
      positions.Add(position);
      posts.Add(id);
      backers.Add(f.backer);
      units.Add(f.units);
      amounts.Add(f.amount);
      recorded.Add(FormatTimestamp(f.recorded_at));
      states.Add(FundingStateName(f.state));
    }
  }
  // Earlier fundings before this batch's: a refund concerns the live
  // fundings that were stored before it.
  if (refunded_posts.size() > 0) {
    tx.exec_prepared0(Prepared(tx, RefundStatement(schema)), refunded_posts.Finish(),
                      refunded_backers.Finish(), refunded_since.Finish());
  }
  if (cancelled.size() > 0) {
    tx.exec_prepared0(
        Prepared(tx,
                 "UPDATE " + table + " SET state = 'cancelled' WHERE position = ANY($1::bigint[])"),
        cancelled.Finish());
  }
  if (positions.size() == 0) return;
  tx.exec_prepared0(
      Prepared(tx, "INSERT INTO " + table +
                       " (position, post_id, backer, units, amount, recorded_at, state) "
                       "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], "
                       "$4::bigint[], $5::bigint[], $6::timestamptz[], $7::text[])"),
      positions.Finish(), posts.Finish(), backers.Finish(), units.Finish(), amounts.Finish(),
      recorded.Finish(), states.Finish());
}

// Through fundings_backer_position, from the post's creation on: the walk
// covers the backer's fundings of every post made since then, and no index
// is kept (and written for every funding) for refunds alone (migration 006).
std::string RefundStatement(std::string_view schema) {
  return "UPDATE " + QuoteIdentifier(schema) +
         ".fundings f SET state = 'refunded' FROM unnest($1::bigint[], $2::text[], "
         "$3::bigint[]) AS v(post_id, backer, since) WHERE f.backer = v.backer "
         "AND f.position > v.since AND f.post_id = v.post_id AND f.state = 'live'";
}

void RemoveRefundedBackers(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                           StoredBackerDeltas* deltas) {
  ArrayLiteral ids, backers;
  for (const auto& [id, c] : changes) {
    if (c.deleted) continue;
    for (const auto& [backer, b] : c.backers) {
      if (!b.reset) continue;
      ids.Add(id);
      backers.Add(backer);
    }
  }
  if (ids.size() == 0) return;
  const pqxx::result removed = tx.exec_prepared(
      Prepared(tx, "DELETE FROM " + QuoteIdentifier(schema) +
                       ".backers b USING unnest($1::bigint[], $2::text[]) AS r(post_id, backer) "
                       "WHERE b.post_id = r.post_id AND b.backer = r.backer "
                       "RETURNING b.post_id, b.fundings"),
      ids.Finish(), backers.Finish());
  for (const pqxx::row& row : removed) {
    const auto id = row[0].as<int64_t>();
    deltas->fundings[id] -= row[1].as<int64_t>();
    deltas->participants[id] -= 1;
  }
}

void UpsertFundings(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                    StoredBackerDeltas* deltas) {
  // Only growth is upserted; a change that cancellations made negative (or
  // left at zero fundings) is TakeCancelledFundings'.
  const BackerArrays a = CollectBackerChanges(changes, IsGrowth);
  if (a.ids.size() == 0) return;
  const pqxx::result upserted = tx.exec_prepared(
      Prepared(tx, "INSERT INTO " + QuoteIdentifier(schema) +
                       ".backers AS b (post_id, backer, units, amount, fundings) "
                       "SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], "
                       "$5::bigint[]) "
                       "ON CONFLICT (post_id, backer) DO UPDATE SET "
                       "units = b.units + EXCLUDED.units, amount = b.amount + EXCLUDED.amount, "
                       "fundings = b.fundings + EXCLUDED.fundings "
                       "RETURNING b.post_id, (b.xmax = 0) AS inserted"),
      a.ids.Finish(), a.backers.Finish(), a.units.Finish(), a.amounts.Finish(),
      a.fundings.Finish());
  for (const pqxx::row& row : upserted) {
    if (row[1].as<bool>()) deltas->participants[row[0].as<int64_t>()] += 1;
  }
}

void TakeCancelledFundings(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                           StoredBackerDeltas* deltas) {
  const BackerArrays a = CollectBackerChanges(changes, [](const commands::BackerTotal& t) {
    return t != commands::BackerTotal{} && !IsGrowth(t);
  });
  if (a.ids.size() == 0) return;
  const std::string table = QuoteIdentifier(schema) + ".backers";
  const std::string changed =
      "unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) "
      "AS v(post_id, backer, units, amount, fundings)";
  // A row left with no live funding goes (a participant less); the table's
  // checks would refuse it at zero.
  const pqxx::result removed =
      tx.exec_prepared(Prepared(tx, "DELETE FROM " + table + " b USING " + changed +
                                        " WHERE b.post_id = v.post_id AND b.backer = v.backer AND "
                                        "b.fundings + v.fundings = 0 "
                                        "RETURNING b.post_id"),
                       a.ids.Finish(), a.backers.Finish(), a.units.Finish(), a.amounts.Finish(),
                       a.fundings.Finish());
  for (const pqxx::row& row : removed) deltas->participants[row[0].as<int64_t>()] -= 1;
  tx.exec_prepared(
      Prepared(tx, "UPDATE " + table +
                       " b SET units = b.units + v.units, amount = b.amount + v.amount, "
                       "fundings = b.fundings + v.fundings FROM " +
                       changed + " WHERE b.post_id = v.post_id AND b.backer = v.backer"),
      a.ids.Finish(), a.backers.Finish(), a.units.Finish(), a.amounts.Finish(),
      a.fundings.Finish());
}

Result<int64_t> UpdateFigures(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                              const StoredBackerDeltas& deltas, int64_t first_position,
                              int64_t last_position) {
  ArrayLiteral ids, totals, fundings, added, versions, positions;
  for (const auto& [id, c] : changes) {
    if (c.deleted) continue;
    ids.Add(id);
    totals.Add(c.total_delta);
    fundings.Add(c.fundings_delta + ValueOr0(deltas.fundings, id));
    added.Add(ValueOr0(deltas.participants, id));
    versions.Add(c.version);
    positions.Add(c.last_position);
  }
  if (ids.size() == 0) return 0;
  const pqxx::result updated = tx.exec_prepared(
      Prepared(
          tx,
          "UPDATE " + QuoteIdentifier(schema) +
              ".post_stats p SET total_funded = p.total_funded + v.total, "
              "funding_count = p.funding_count + v.fundings, "
              "participant_count = p.participant_count + v.participants, "
              "version = v.version, last_position = v.pos "
              "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
              "$5::bigint[], $6::bigint[]) AS v(id, total, fundings, participants, version, pos) "
              "WHERE p.id = v.id RETURNING p.id"),
      ids.Finish(), totals.Finish(), fundings.Finish(), added.Finish(), versions.Finish(),
      positions.Finish());
  const auto changed = static_cast<int64_t>(ids.size());
  const auto matched = static_cast<int64_t>(updated.size());
  if (matched != changed) {
    return Status::Corruption("read tables out of step with the log: " + std::to_string(changed) +
                              " posts changed by events " + std::to_string(first_position) + ".." +
                              std::to_string(last_position) + " but " + std::to_string(matched) +
                              " rows matched");
  }
  return matched;
}

void DeleteDeletedPosts(pqxx::work& tx, std::string_view schema, const PostChanges& changes) {
  ArrayLiteral ids;
  for (const auto& [id, c] : changes) {
    if (c.deleted && !c.created) ids.Add(id);
  }
  if (ids.size() == 0) return;
  // post_stats before posts, whose ids it references.
  const std::string s = QuoteIdentifier(schema);
  const std::string deleted = ids.Finish();
  for (const char* table : {".backers WHERE post_id", ".post_stats WHERE id", ".posts WHERE id"}) {
    tx.exec_prepared0(Prepared(tx, "DELETE FROM " + s + table + " = ANY($1::bigint[])"), deleted);
  }
}

}  // namespace ledger::projections

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string>

#include "common/money.h"
#include "common/time_format.h"
#include "projections/binary_copy.h"
#include "projections/database.h"
#include "projections/verify_parts.h"

namespace ledger::projections {
namespace {

// What a fundings row holds, as a mismatch names it: a bigint or a
// timestamp as text, NULL as "NULL".
std::string IntText(const BinaryCopyOut& row, size_t i) {
  if (row.IsNull(i)) return "NULL";
  const std::optional<int64_t> value = row.Int8(i);
  return value ? std::to_string(*value) : "(not a bigint)";
}

std::string TimestampText(const BinaryCopyOut& row, size_t i) {
  if (row.IsNull(i)) return "NULL";
  if (const std::optional<Timestamp> at = row.TimestampTz(i)) return FormatTimestamp(*at);
  const std::optional<int64_t> raw = row.Int8(i);
  if (raw == std::numeric_limits<int64_t>::max()) return "infinity";
  if (raw == std::numeric_limits<int64_t>::min()) return "-infinity";
  return "(not a timestamp)";
}

std::string TextOf(const BinaryCopyOut& row, size_t i) {
  return row.IsNull(i) ? "NULL" : std::string(row.Bytes(i));
}

// The columns of the query below, in its order.
enum FundingColumn : size_t { kPosition, kPostId, kBacker, kUnits, kAmount, kRecordedAt, kState };

void CompareFundingRow(const FundingRecord& want, const BinaryCopyOut& row, Collector& out) {
  const std::string field = "fundings/" + std::to_string(want.position);
  const auto check = [&](std::string_view column, const std::string& expected,
                         const std::string& actual) {
    if (actual != expected)
      out.Add(want.post_id, field + "/" + std::string(column), expected, actual);
  };
  check("post_id", std::to_string(want.post_id), IntText(row, kPostId));
  check("backer", want.backer, TextOf(row, kBacker));
  check("units", std::to_string(want.units), IntText(row, kUnits));
  check("amount", std::to_string(want.amount), IntText(row, kAmount));
  check("recorded_at", FormatTimestamp(want.recorded_at), TimestampText(row, kRecordedAt));
  check("state", std::string(FundingStateName(want.state)), TextOf(row, kState));
}

// Whether `row` holds exactly `want`, compared as values, without building
// the texts that a mismatch names (CompareFundingRow does, for the rows that
// differ).
bool FundingRowMatches(const FundingRecord& want, const BinaryCopyOut& row) {
  return row.Int8(kPostId) == want.post_id && !row.IsNull(kBacker) &&
         row.Bytes(kBacker) == want.backer && row.Int8(kUnits) == want.units &&
         row.Int8(kAmount) == want.amount && row.TimestampTz(kRecordedAt) == want.recorded_at &&
         !row.IsNull(kState) && row.Bytes(kState) == FundingStateName(want.state);
}

// A bigint literal for COPY's query, which takes no parameters.
std::string Int8Literal(int64_t value) { return "'" + std::to_string(value) + "'::bigint"; }

}  // namespace

void CompareFundings(pqxx::dbtransaction& tx, const std::string& schema,
                     std::span<const FundingRecord> all, PositionRange range, Collector& out) {
  const auto at_or_before = [](const FundingRecord& r, int64_t p) { return r.position <= p; };
  const auto first = std::lower_bound(all.begin(), all.end(), range.after, at_or_before);
  const auto end = std::lower_bound(first, all.end(), range.last, at_or_before);
  const std::span<const FundingRecord> history(first, end);
  // A merge of two position-ordered sequences, the table streamed in binary
  // (a bigint as 8 bytes, a timestamp as microseconds: nothing printed by
  // the server to be parsed here). The whole range starts at the lowest
  // key, not at 1: a row at a position the log never has (0 or below) is
  // one the table should not hold.
  BinaryCopyOut rows(
      tx, "SELECT position, post_id, backer, units, amount, recorded_at, state FROM " + schema +
              ".fundings WHERE position > " + Int8Literal(range.after) +
              " AND position <= " + Int8Literal(range.last) + " ORDER BY position");
  size_t next = 0;  // the first record not yet matched
  while (rows.Next()) {
    // The primary key: a bigint, never NULL.
    const std::optional<int64_t> key = rows.Int8(kPosition);
    if (!key) throw pqxx::failure("a fundings row without a bigint position");
    const int64_t position = *key;
    while (next < history.size() && history[next].position < position) {
      out.Add(history[next].post_id, "fundings/" + std::to_string(history[next].position),
              "present", "absent");
      ++next;
    }
    if (next < history.size() && history[next].position == position) {
      const FundingRecord& want = history[next];
      if (!FundingRowMatches(want, rows)) CompareFundingRow(want, rows, out);
      ++next;
    } else {
      out.Add(rows.Int8(kPostId).value_or(0), "fundings/" + std::to_string(position), "absent",
              "present");
    }
  }
  for (; next < history.size(); ++next) {
    out.Add(history[next].post_id, "fundings/" + std::to_string(history[next].position), "present",
            "absent");
  }
}

void CheckBooks(const commands::FoldedLog& folded, const FundingHistory& history, Collector& out) {
  std::optional<int64_t> moved_total = 0;   // Σ funded − cancelled − refunded
  std::optional<int64_t> folded_total = 0;  // Σ the posts' total_funded
  const Timestamp latest = folded.latest_recorded_at;
  for (const commands::PostState& p : folded.posts) {
    const PostMoney m = history.money(p.id);
    std::optional<int64_t> moved = CheckedSub(m.funded, m.cancelled);
    if (moved) moved = CheckedSub(*moved, m.refunded);
    const std::string moved_text = moved ? std::to_string(*moved) : "overflows int64";
    // A deleted post refunded everything: its money ends at 0 too.
    const int64_t total = p.deleted ? 0 : p.total_funded;
    if (moved_text != std::to_string(total)) {
      out.Add(p.id, "money/" + std::to_string(p.id), moved_text, std::to_string(total));
    }
    if (moved_total && moved) moved_total = CheckedAdd(*moved_total, *moved);
    if (!moved) moved_total.reset();
    if (folded_total) folded_total = CheckedAdd(*folded_total, total);
    if (p.deleted) continue;
    if (p.settlement == events::SettlementOutcome::kFailed &&
        p.funding_model == events::FundingModel::kAllOrNothing && p.total_funded != 0) {
      out.Add(p.id, "settlement/refunds", "0", std::to_string(p.total_funded));
    }
    if (!p.settled() && latest.time_since_epoch().count() > 0 &&
        latest - p.closes_at >= std::chrono::seconds(kSettlementGraceSeconds)) {
      out.Add(p.id, "settlement/missing",
              "settled by " +
                  FormatTimestamp(p.closes_at + std::chrono::seconds(kSettlementGraceSeconds)),
              "unsettled at " + FormatTimestamp(latest));
    }
  }
  const auto text = [](const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : std::string("overflows int64");
  };
  if (text(moved_total) != text(folded_total)) {
    out.Add(0, "money/total", text(moved_total), text(folded_total));
  }
  for (const SettlementDisagreement& d : history.disagreements()) {
    out.Add(d.post_id, "settlement/outcome",
            std::string(d.total_funded >= d.target_amount ? "successful" : "failed") + " (" +
                std::to_string(d.total_funded) + " of " + std::to_string(d.target_amount) +
                ", position " + std::to_string(d.position) + ")",
            std::string(events::OutcomeName(d.outcome)));
  }
}

}  // namespace ledger::projections

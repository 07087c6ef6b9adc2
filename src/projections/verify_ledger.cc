#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <optional>
#include <string>

#include "common/money.h"
#include "common/time_format.h"
#include "projections/database.h"
#include "projections/verify_parts.h"

namespace ledger::projections {
namespace {

// Timestamps read back in FormatTimestamp's form (as verify.cc reads them).
constexpr std::string_view kTimestampFormat = R"('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')";

void CompareFundingRow(const FundingRecord& want, const pqxx::row& row, Collector& out) {
  const std::string field = "fundings/" + std::to_string(want.position);
  const auto check = [&](std::string_view column, const std::string& expected,
                         const pqxx::field& f) {
    const std::string actual = f.is_null() ? "NULL" : f.c_str();
    if (actual != expected)
      out.Add(want.post_id, field + "/" + std::string(column), expected, actual);
  };
  check("post_id", std::to_string(want.post_id), row[1]);
  check("backer", want.backer, row[2]);
  check("units", std::to_string(want.units), row[3]);
  check("amount", std::to_string(want.amount), row[4]);
  check("recorded_at", FormatTimestamp(want.recorded_at), row[5]);
  check("state", std::string(FundingStateName(want.state)), row[6]);
}

// The field's text is std::to_string(want), as CompareFundingRow compares.
bool IntFieldIs(const pqxx::field& f, int64_t want) {
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, want);
  return ec == std::errc() && !f.is_null() &&
         std::string_view(f.c_str(), f.size()) ==
             std::string_view(text, static_cast<size_t>(end - text));
}

bool TextFieldIs(const pqxx::field& f, std::string_view want) {
  return !f.is_null() && std::string_view(f.c_str(), f.size()) == want;
}

// Whether `row` holds exactly `want`, without building the texts that a
// mismatch names (CompareFundingRow does, for the rows that differ).
// `recorded_at` is FormatTimestamp(want.recorded_at), which the caller keeps
// across rows: fundings of one append share it.
bool FundingRowMatches(const FundingRecord& want, const pqxx::row& row,
                       std::string_view recorded_at) {
  return IntFieldIs(row[1], want.post_id) && TextFieldIs(row[2], want.backer) &&
         IntFieldIs(row[3], want.units) && IntFieldIs(row[4], want.amount) &&
         TextFieldIs(row[5], recorded_at) && TextFieldIs(row[6], FundingStateName(want.state));
}

}  // namespace

void CompareFundings(pqxx::transaction_base& tx, const std::string& schema,
                     std::span<const FundingRecord> all, PositionRange range, Collector& out) {
  const auto at_or_before = [](const FundingRecord& r, int64_t p) { return r.position <= p; };
  const auto first = std::lower_bound(all.begin(), all.end(), range.after, at_or_before);
  const auto end = std::lower_bound(first, all.end(), range.last, at_or_before);
  const std::span<const FundingRecord> history(first, end);
  // A merge of two position-ordered sequences, the table read in keyset
  // pages.
  size_t next = 0;  // the first record not yet matched
  // The whole range starts at the lowest key, not at 1: a row at a position
  // the log never has (0 or below) is one the table should not hold.
  int64_t after = range.after;
  Timestamp formatted_at;  // the last recorded_at formatted, and its text
  std::string formatted = FormatTimestamp(formatted_at);
  while (true) {
    const pqxx::result rows = tx.exec_params(
        "SELECT position, post_id, backer, units, amount, to_char(recorded_at AT TIME ZONE "
        "'UTC', " +
            std::string(kTimestampFormat) + "), state FROM " + schema +
            ".fundings WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3",
        after, range.last, kVerifyFundingsPerQuery);
    for (const pqxx::row& row : rows) {
      const auto position = row[0].as<int64_t>();
      while (next < history.size() && history[next].position < position) {
        out.Add(history[next].post_id, "fundings/" + std::to_string(history[next].position),
                "present", "absent");
        ++next;
      }
      if (next < history.size() && history[next].position == position) {
        const FundingRecord& want = history[next];
        if (want.recorded_at != formatted_at) {
          formatted_at = want.recorded_at;
          formatted = FormatTimestamp(want.recorded_at);
        }
        if (!FundingRowMatches(want, row, formatted)) CompareFundingRow(want, row, out);
        ++next;
      } else {
        out.Add(row[1].as<int64_t>(), "fundings/" + std::to_string(position), "absent", "present");
      }
      after = position;
    }
    if (rows.size() < static_cast<size_t>(kVerifyFundingsPerQuery)) break;
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

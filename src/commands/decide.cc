#include "commands/decide.h"

#include <algorithm>
#include <string>

#include "commands/decide_parts.h"
#include "commands/limits.h"
#include "common/check.h"
#include "common/money.h"
#include "common/utf8.h"

namespace ledger::commands {

Decision Reject(RejectReason reason, std::string field, std::string detail) {
  Decision d;
  d.rejection = Rejection{reason, std::move(field), std::move(detail)};
  return d;
}

RefundTotals AppendRefunds(const PostState& post, std::vector<NewEvent>& events) {
  // In backer order, so that the same state always yields the same events.
  std::vector<const std::pair<const std::string, BackerState>*> backers;
  backers.reserve(post.backers.size());
  for (const auto& entry : post.backers) backers.push_back(&entry);
  std::sort(backers.begin(), backers.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  RefundTotals totals;
  for (const auto* entry : backers) {
    events.push_back(NewEvent{
        post.id, events::FundingRefunded{entry->first, entry->second.units, entry->second.amount}});
    // The sum is the post's total, which Apply kept within int64.
    const auto sum = CheckedAdd(totals.amount, entry->second.amount);
    LEDGER_CHECK(sum.has_value(), "refund total exceeds the post's total");
    totals.amount = *sum;
    ++totals.backers;
  }
  LEDGER_CHECK(totals.amount == post.total_funded, "refunds must return exactly the live total");
  return totals;
}

namespace {

std::optional<Rejection> CheckLimit(std::optional<int64_t> limit, const std::string& field) {
  if (limit && (*limit < 1 || *limit > kMaxFundingsPerBackerLimit)) {
    return Rejection{RejectReason::kInvalidField, field,
                     "must be null or between 1 and " + std::to_string(kMaxFundingsPerBackerLimit)};
  }
  return std::nullopt;
}

// Validates a title or uploader: valid UTF-8, trimmed of Unicode white space,
// not blank, at most `max` code points, no control characters. Returns the
// trimmed text, or the rejection.
std::optional<Rejection> CheckLine(std::string_view text, size_t max, const std::string& field,
                                   std::string* trimmed) {
  if (!CountCodePoints(text)) {
    return Rejection{RejectReason::kInvalidField, field, "must be valid UTF-8"};
  }
  const std::string_view t = TrimUnicodeSpace(text);
  const size_t n = *CountCodePoints(t);
  if (n == 0) {
    return Rejection{RejectReason::kInvalidField, field, "must not be blank"};
  }
  if (n > max) {
    return Rejection{
        RejectReason::kInvalidField, field,
        "must be at most " + std::to_string(max) + " characters, got " + std::to_string(n)};
  }
  if (HasControlCharacter(t)) {
    return Rejection{RejectReason::kInvalidField, field, "must not contain control characters"};
  }
  *trimmed = std::string(t);
  return std::nullopt;
}

std::optional<Rejection> CheckDescription(std::string_view text, const std::string& field) {
  const auto n = CountCodePoints(text);
  if (!n) {
    return Rejection{RejectReason::kInvalidField, field, "must be valid UTF-8"};
  }
  if (text.find('\0') != std::string_view::npos) {
    // Line breaks and tabs are text; NUL is not (and PostgreSQL cannot store it).
    return Rejection{RejectReason::kInvalidField, field, "must not contain NUL characters"};
  }
  if (*n > kDescriptionMaxCodePoints) {
    return Rejection{RejectReason::kInvalidField, field,
                     "must be at most " + std::to_string(kDescriptionMaxCodePoints) +
                         " characters, got " + std::to_string(*n)};
  }
  return std::nullopt;
}

std::optional<Rejection> CheckPositive(int64_t value, const std::string& field) {
  if (value <= 0) {
    return Rejection{RejectReason::kInvalidField, field, "must be greater than 0"};
  }
  return std::nullopt;
}

std::optional<Rejection> CheckEndDate(CivilDate end_date, const DecideContext& ctx,
                                      const std::string& field) {
  const CivilDate today = ctx.time_zone->LocalDate(ctx.now);
  if (std::chrono::sys_days(end_date) < std::chrono::sys_days(today)) {
    return Rejection{
        RejectReason::kEndDateInPast, field,
        "must not be before today (" + FormatDate(today) + " in " + ctx.time_zone->name() + ")"};
  }
  const auto latest = std::chrono::sys_days(today) + std::chrono::days(kMaxEndDateDaysAhead);
  if (std::chrono::sys_days(end_date) > latest) {
    return Rejection{RejectReason::kInvalidField, field,
                     "must be at most " + std::to_string(kMaxEndDateDaysAhead) +
                         " days after today (" + FormatDate(CivilDate(latest)) + ")"};
  }
  return std::nullopt;
}

// Rejections that depend on the post's existence and ownership, shared by
// edit and delete.
std::optional<Rejection> CheckOwnedPost(const PostState* post, std::optional<int64_t> expected,
                                        const DecideContext& ctx) {
  if (post == nullptr || !post->exists()) {
    return Rejection{RejectReason::kPostNotFound, "", "no such post"};
  }
  if (post->deleted) {
    return Rejection{RejectReason::kPostDeleted, "", "the post was deleted"};
  }
  if (post->owner != ctx.actor) {
    return Rejection{RejectReason::kNotOwner, "", "only the post's owner may change it"};
  }
  if (expected && *expected != post->version) {
    return Rejection{RejectReason::kVersionMismatch, "",
                     "expected version " + std::to_string(*expected) + " but the post is at " +
                         std::to_string(post->version)};
  }
  return std::nullopt;
}

Decision DecideCreate(const CreatePosts& c, const DecideContext& ctx) {
  if (c.posts.empty() || c.posts.size() > kMaxPostsPerCreate) {
    return Reject(RejectReason::kInvalidField, "",
                  "a create request holds 1 to " + std::to_string(kMaxPostsPerCreate) +
                      " posts, got " + std::to_string(c.posts.size()));
  }
  Decision d;
  d.events.reserve(c.posts.size());
  for (size_t i = 0; i < c.posts.size(); ++i) {
    const PostDraft& p = c.posts[i];
    const std::string prefix = c.as_array ? "/" + std::to_string(i) : "";
    events::PostCreated e;
    std::optional<Rejection> r =
        CheckLine(p.title, kTitleMaxCodePoints, prefix + "/title", &e.title);
    if (!r) r = CheckLine(p.uploader, kUploaderMaxCodePoints, prefix + "/uploader", &e.uploader);
    if (!r) r = CheckDescription(p.description, prefix + "/description");
    if (!r) r = CheckPositive(p.target_amount, prefix + "/target_amount");
    if (!r) r = CheckPositive(p.funding_unit, prefix + "/funding_unit");
    if (!r) r = CheckEndDate(p.end_date, ctx, prefix + "/end_date");
    if (!r) r = CheckLimit(p.max_fundings_per_backer, prefix + "/max_fundings_per_backer");
    if (r) {
      return Reject(r->reason, std::move(r->field), std::move(r->detail));
    }
    e.owner = std::string(ctx.actor);
    e.description = p.description;
    e.target_amount = p.target_amount;
    e.funding_unit = p.funding_unit;
    e.end_date = p.end_date;
    e.closes_at = ctx.time_zone->ClosesAt(p.end_date);
    e.funding_model = p.funding_model;
    e.max_fundings_per_backer = p.max_fundings_per_backer;
    d.events.push_back(NewEvent{ctx.next_post_id + static_cast<int64_t>(i), std::move(e)});
  }
  return d;
}

// What a post whose funding has closed, or has begun, no longer takes: after
// settlement only its texts change; after the deadline its end date is final;
// after the first funding its funding terms are.
std::optional<Rejection> CheckEditOfAClosingPost(const PostState& post, const EditPost& c,
                                                 const DecideContext& ctx) {
  const bool terms = c.funding_model || c.max_fundings_per_backer;
  if (post.settled() && (c.funding_unit || c.end_date || terms)) {
    return Rejection{RejectReason::kPostSettled, "",
                     "a settled post takes edits of its title, uploader and description only"};
  }
  if (c.end_date && ctx.now >= post.closes_at) {
    return Rejection{RejectReason::kFundingClosed, "/end_date",
                     "funding has closed; the end date of a finished campaign is final"};
  }
  if (terms && post.ever_funded) {
    return Rejection{RejectReason::kFundingTermsFixed,
                     c.funding_model ? "/funding_model" : "/max_fundings_per_backer",
                     "the funding terms are fixed once the post has been funded"};
  }
  return std::nullopt;
}

Decision DecideEdit(const PostState* post, const EditPost& c, const DecideContext& ctx) {
  if (c.target_amount) {
    return Reject(RejectReason::kTargetImmutable, "/target_amount",
                  "target_amount cannot be changed after the post is created");
  }
  events::PostEdited e;
  std::optional<Rejection> r;
  if (c.title) {
    e.title.emplace();
    r = CheckLine(*c.title, kTitleMaxCodePoints, "/title", &*e.title);
  }
  if (!r && c.uploader) {
    e.uploader.emplace();
    r = CheckLine(*c.uploader, kUploaderMaxCodePoints, "/uploader", &*e.uploader);
  }
  if (!r && c.description) {
    r = CheckDescription(*c.description, "/description");
    e.description = c.description;
  }
  if (!r && c.funding_unit) {
    r = CheckPositive(*c.funding_unit, "/funding_unit");
    e.funding_unit = c.funding_unit;
  }
  if (!r && c.end_date) {
    r = CheckEndDate(*c.end_date, ctx, "/end_date");
  }
  if (!r && c.max_fundings_per_backer) {
    r = CheckLimit(*c.max_fundings_per_backer, "/max_fundings_per_backer");
  }
  const bool terms = c.funding_model || c.max_fundings_per_backer;
  if (!r && !c.title && !c.uploader && !c.description && !c.funding_unit && !c.end_date && !terms) {
    r = Rejection{RejectReason::kInvalidField, "", "an edit must change at least one field"};
  }
  if (!r) r = CheckOwnedPost(post, c.expected_version, ctx);
  if (!r) r = CheckEditOfAClosingPost(*post, c, ctx);
  if (r) {
    return Reject(r->reason, std::move(r->field), std::move(r->detail));
  }
  e.funding_model = c.funding_model;
  e.max_fundings_per_backer = c.max_fundings_per_backer;
  if (c.end_date) {
    e.end_date = c.end_date;
    e.closes_at = ctx.time_zone->ClosesAt(*c.end_date);
  }
  Decision d;
  d.events.push_back(NewEvent{post->id, std::move(e)});
  return d;
}

Decision DecideDelete(const PostState* post, const DeletePost& c, const DecideContext& ctx) {
  if (auto r = CheckOwnedPost(post, c.expected_version, ctx)) {
    return Reject(r->reason, std::move(r->field), std::move(r->detail));
  }
  if (post->settled()) {
    return Reject(RejectReason::kPostSettled, "", "a settled post cannot be deleted");
  }
  if (ctx.now >= post->closes_at) {
    return Reject(RejectReason::kFundingClosed, "",
                  "funding has closed; a finished campaign is settled, not deleted");
  }
  if (post->participant_count() > static_cast<int64_t>(kMaxRefundedBackersPerDelete)) {
    return Reject(RejectReason::kTooManyBackers, "",
                  "the post has " + std::to_string(post->participant_count()) +
                      " backers; at most " + std::to_string(kMaxRefundedBackersPerDelete) +
                      " can be refunded by one delete");
  }
  Decision d;
  if (post->participant_count() > 0 && !ctx.whole_post) {
    d.needs_whole_post = true;
    return d;
  }
  d.events.reserve(post->backers.size() + 1);
  const RefundTotals refunded = AppendRefunds(*post, d.events);
  d.events.push_back(NewEvent{post->id, events::PostDeleted{refunded.amount, refunded.backers}});
  return d;
}

Decision DecideFund(const PostState* post, const FundPost& c, const DecideContext& ctx) {
  if (c.units < 1 || c.units > kMaxUnitsPerFunding) {
    return Reject(RejectReason::kInvalidField, "/units",
                  "must be between 1 and " + std::to_string(kMaxUnitsPerFunding));
  }
  if (post == nullptr || !post->exists()) {
    return Reject(RejectReason::kPostNotFound, "", "no such post");
  }
  if (post->deleted) {
    return Reject(RejectReason::kPostDeleted, "", "the post was deleted");
  }
  if (post->owner == ctx.actor) {
    return Reject(RejectReason::kOwnerCannotFund, "", "the owner cannot fund their own post");
  }
  if (post->settled()) {
    return Reject(RejectReason::kPostSettled, "", "the post was settled; funding has closed");
  }
  if (ctx.now >= post->closes_at) {
    return Reject(RejectReason::kFundingClosed, "",
                  "funding closed at the end of " + FormatDate(post->end_date));
  }
  const auto amount = CheckedMul(c.units, post->funding_unit);
  std::optional<int64_t> total;
  std::optional<int64_t> backer_units;
  std::optional<int64_t> backer_amount;
  if (amount) {
    total = CheckedAdd(post->total_funded, *amount);
    const auto it = post->backers.find(ctx.actor);
    // The totals alone (not the backer's positions).
    const BackerTotal current = it == post->backers.end() ? BackerTotal{} : BackerTotal(it->second);
    if (const std::optional<int64_t> limit = post->max_fundings_per_backer;
        limit && current.fundings >= *limit) {
      return Reject(RejectReason::kFundingLimitReached, "",
                    "this post takes at most " + std::to_string(*limit) + " live " +
                        (*limit == 1 ? "funding" : "fundings") + " per backer");
    }
    backer_units = CheckedAdd(current.units, c.units);
    backer_amount = CheckedAdd(current.amount, *amount);
  }
  if (!amount || !total || !backer_units || !backer_amount) {
    return Reject(RejectReason::kAmountOverflow, "/units",
                  "the funding would overflow the post's total");
  }
  Decision d;
  d.events.push_back(
      NewEvent{post->id, events::PostFunded{std::string(ctx.actor), c.units, *amount}});
  return d;
}

}  // namespace

Decision Decide(const PostState* post, const Command& command, const DecideContext& ctx) {
  LEDGER_CHECK(ctx.time_zone != nullptr, "Decide needs the service time zone");
  return std::visit(
      [&](const auto& c) -> Decision {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CreatePosts>) {
          return DecideCreate(c, ctx);
        } else if constexpr (std::is_same_v<T, EditPost>) {
          return DecideEdit(post, c, ctx);
        } else if constexpr (std::is_same_v<T, DeletePost>) {
          return DecideDelete(post, c, ctx);
        } else if constexpr (std::is_same_v<T, FundPost>) {
          return DecideFund(post, c, ctx);
        } else if constexpr (std::is_same_v<T, CancelFunding>) {
          return DecideCancel(post, c, ctx);
        } else {
          static_assert(std::is_same_v<T, SettlePost>);
          return DecideSettle(post, c, ctx);
        }
      },
      command);
}

}  // namespace ledger::commands

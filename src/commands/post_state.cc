#include "commands/post_state.h"

#include <type_traits>

#include "common/money.h"

namespace ledger::commands {
namespace {

Status Broken(const events::Event& event, std::string_view problem) {
  return Status::Corruption("event at position " + std::to_string(event.position) + " (" +
                            std::string(events::TypeName(event.type())) + " of post " +
                            std::to_string(event.stream) + "): " + std::string(problem));
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostCreated& d) {
  if (s.exists()) return Broken(e, "post created twice");
  s.id = e.stream;
  s.owner = d.owner;
  s.title = d.title;
  s.uploader = d.uploader;
  s.description = d.description;
  s.target_amount = d.target_amount;
  s.funding_unit = d.funding_unit;
  s.end_date = d.end_date;
  s.closes_at = d.closes_at;
  s.created_at = e.recorded_at;
  s.funding_model = d.funding_model;
  s.max_fundings_per_backer = d.max_fundings_per_backer;
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostEdited& d) {
  if (!s.exists() || s.deleted) return Broken(e, "edit of a missing or deleted post");
  if (s.settled() && (d.funding_unit || d.end_date)) {
    return Broken(e, "funding_unit or end_date edited after settlement");
  }
  events::ApplyEditTo(s, d);
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostDeleted& d) {
  if (!s.exists() || s.deleted) return Broken(e, "delete of a missing or deleted post");
  if (s.settled()) return Broken(e, "delete of a settled post");
  if (s.total_funded != 0 || !s.backers.empty()) {
    return Broken(e, "deleted while fundings are still live");
  }
  if (d.refunded_amount < 0 || d.refunded_backers < 0) return Broken(e, "negative refund totals");
  s.deleted = true;
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostFunded& d) {
  if (!s.exists() || s.deleted) return Broken(e, "funding of a missing or deleted post");
  if (s.settled()) return Broken(e, "funding of a settled post");
  if (d.units <= 0 || d.amount <= 0) return Broken(e, "non-positive funding");
  if (!s.live_fundings.emplace(e.position, LiveFunding{d.backer, d.units, d.amount}).second) {
    return Broken(e, "two fundings at one position");
  }
  BackerTotal& b = s.backers[d.backer];
  const auto units = CheckedAdd(b.units, d.units);
  const auto amount = CheckedAdd(b.amount, d.amount);
  const auto total = CheckedAdd(s.total_funded, d.amount);
  const auto count = CheckedAdd(s.funding_count, 1);
  if (!units || !amount || !total || !count) return Broken(e, "funding overflows int64");
  b = BackerTotal{*units, *amount, b.fundings + 1};
  s.total_funded = *total;
  s.funding_count = *count;
  s.ever_funded = true;
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::FundingRefunded& d) {
  if (!s.exists() || s.deleted) return Broken(e, "refund on a missing or deleted post");
  const auto it = s.backers.find(d.backer);
  if (it == s.backers.end()) return Broken(e, "refund of a backer with no live funding");
  // A refund returns all of a backer's live fundings at once.
  if (it->second.units != d.units || it->second.amount != d.amount) {
    return Broken(e, "refund differs from the backer's live fundings");
  }
  s.total_funded -= d.amount;
  s.funding_count -= it->second.fundings;
  s.backers.erase(it);
  std::erase_if(s.live_fundings, [&](const auto& f) {
    if (f.second.backer != d.backer) return false;
    s.refunded_fundings.emplace(f.first, d.backer);
    return true;
  });
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::FundingCancelled& d) {
  if (!s.exists() || s.deleted) return Broken(e, "cancellation on a missing or deleted post");
  if (s.settled()) return Broken(e, "cancellation on a settled post");
  const auto funding = s.live_fundings.find(d.funding_position);
  if (funding == s.live_fundings.end()) return Broken(e, "cancellation of no live funding");
  if (funding->second != LiveFunding{d.backer, d.units, d.amount}) {
    return Broken(e, "cancellation differs from the funding it names");
  }
  BackerTotal& b = s.backers[d.backer];
  b.units -= d.units;
  b.amount -= d.amount;
  b.fundings -= 1;
  if (b.fundings == 0) s.backers.erase(d.backer);
  s.total_funded -= d.amount;
  s.funding_count -= 1;
  s.live_fundings.erase(funding);
  s.cancelled_fundings.emplace(d.funding_position, d.backer);
  return Status::Ok();
}

// The figures are the post's before the refunds of the same append, so what
// is left after them is total_funded - refunded_amount.
Status ApplyData(PostState& s, const events::Event& e, const events::PostSettled& d) {
  if (!s.exists() || s.deleted) return Broken(e, "settlement of a missing or deleted post");
  if (s.settled()) return Broken(e, "post settled twice");
  if (e.recorded_at < s.closes_at) return Broken(e, "settled before its deadline");
  const bool reached = d.total_funded >= s.target_amount;
  if (reached != (d.outcome == events::SettlementOutcome::kSuccessful)) {
    return Broken(e, "outcome differs from the total against the target");
  }
  const auto left = CheckedSub(d.total_funded, d.refunded_amount);
  const auto backers_left = CheckedSub(d.participant_count, d.refunded_backers);
  if (!left || !backers_left || *left != s.total_funded || *backers_left != s.participant_count()) {
    return Broken(e, "settlement figures differ from the post's");
  }
  const bool refunds_due = s.funding_model == events::FundingModel::kAllOrNothing && !reached;
  if (refunds_due ? *left != 0 : d.refunded_amount != 0 || d.refunded_backers != 0) {
    return Broken(e, "refunds differ from what the funding model owes");
  }
  s.settlement = d.outcome;
  return Status::Ok();
}

}  // namespace

Status Apply(PostState& state, const events::Event& event) {
  if (state.exists() && event.stream != state.id) {
    return Broken(event, "applied to post " + std::to_string(state.id));
  }
  if (event.stream_version != state.version + 1) {
    return Broken(event, "stream version " + std::to_string(event.stream_version) +
                             " does not follow " + std::to_string(state.version));
  }
  if (!state.exists() && event.type() != events::EventType::kPostCreated) {
    return Broken(event, "first event of a stream must be PostCreated");
  }
  LEDGER_RETURN_IF_ERROR(
      std::visit([&](const auto& d) { return ApplyData(state, event, d); }, event.data));
  state.version = event.stream_version;
  return Status::Ok();
}

}  // namespace ledger::commands

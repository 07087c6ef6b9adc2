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
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostEdited& d) {
  if (!s.exists() || s.deleted) return Broken(e, "edit of a missing or deleted post");
  events::ApplyEditTo(s, d);
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostDeleted& d) {
  if (!s.exists() || s.deleted) return Broken(e, "delete of a missing or deleted post");
  if (s.total_funded != 0 || !s.backers.empty()) {
    return Broken(e, "deleted while fundings are still live");
  }
  if (d.refunded_amount < 0 || d.refunded_backers < 0) return Broken(e, "negative refund totals");
  s.deleted = true;
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::PostFunded& d) {
  if (!s.exists() || s.deleted) return Broken(e, "funding of a missing or deleted post");
  if (d.units <= 0 || d.amount <= 0) return Broken(e, "non-positive funding");
  BackerTotal& b = s.backers[d.backer];
  const auto units = CheckedAdd(b.units, d.units);
  const auto amount = CheckedAdd(b.amount, d.amount);
  const auto total = CheckedAdd(s.total_funded, d.amount);
  const auto count = CheckedAdd(s.funding_count, 1);
  if (!units || !amount || !total || !count) return Broken(e, "funding overflows int64");
  b = BackerTotal{*units, *amount, b.fundings + 1};
  s.total_funded = *total;
  s.funding_count = *count;
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

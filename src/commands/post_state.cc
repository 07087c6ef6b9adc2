#include "commands/post_state.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "common/check.h"
#include "common/money.h"

namespace ledger::commands {

void LivePositions::push_back(int64_t position) {
  LEDGER_CHECK(position >= 1, "a log position starts at 1");
  if (!heap_.empty()) {
    heap_.push_back(position);
  } else if (inline_ == 0) {
    inline_ = position;
  } else {
    heap_.reserve(2);
    heap_.push_back(inline_);
    heap_.push_back(position);
    inline_ = 0;
  }
}

void LivePositions::erase(int64_t position) {
  if (heap_.empty()) {
    if (inline_ == position) inline_ = 0;
    return;
  }
  std::erase(heap_, position);
  if (heap_.size() <= 1) {
    inline_ = heap_.empty() ? 0 : heap_.front();
    heap_ = std::vector<int64_t>();  // back to inline: the block is freed
  }
}

bool LivePositions::operator==(const LivePositions& other) const {
  return std::equal(begin(), end(), other.begin(), other.end());
}

std::vector<LiveFundings::Slot>::const_iterator LiveFundings::Locate(int64_t position) const {
  const auto it = std::lower_bound(slots_.begin(), slots_.end(), position,
                                   [](const Slot& s, int64_t p) { return s.position < p; });
  return it != slots_.end() && it->position == position && it->live ? it : slots_.end();
}

const LiveFunding* LiveFundings::Find(int64_t position) const {
  const auto it = Locate(position);
  return it == slots_.end() ? nullptr : &it->funding;
}

bool LiveFundings::Append(int64_t position, LiveFunding funding) {
  if (!slots_.empty() && slots_.back().position >= position) return false;
  slots_.push_back(Slot{position, std::move(funding), true});
  ++live_;
  return true;
}

bool LiveFundings::Insert(int64_t position, LiveFunding funding) {
  const auto it = std::lower_bound(slots_.begin(), slots_.end(), position,
                                   [](const Slot& s, int64_t p) { return s.position < p; });
  if (it != slots_.end() && it->position == position) {
    if (it->live) return false;
    // A slot left by a removal: taken again.
    Slot& slot = slots_[static_cast<size_t>(it - slots_.begin())];
    slot.funding = std::move(funding);
    slot.live = true;
  } else {
    slots_.insert(it, Slot{position, std::move(funding), true});
  }
  ++live_;
  return true;
}

bool LiveFundings::Remove(int64_t position) {
  const auto found = Locate(position);
  if (found == slots_.end()) return false;
  Slot& slot = slots_[static_cast<size_t>(found - slots_.begin())];
  slot.live = false;
  slot.funding = LiveFunding{};
  --live_;
  CompactIfSparse();
  return true;
}

void LiveFundings::CompactIfSparse() {
  // Amortised: a compaction after n/2 removals costs n moves.
  if (live_ * 2 >= slots_.size()) return;
  std::erase_if(slots_, [](const Slot& s) { return !s.live; });
}

std::vector<int64_t> LiveFundings::Positions() const {
  std::vector<int64_t> out;
  out.reserve(live_);
  for (const Slot& s : slots_) {
    if (s.live) out.push_back(s.position);
  }
  return out;
}

bool LiveFundings::operator==(const LiveFundings& other) const {
  if (live_ != other.live_) return false;
  auto a = slots_.begin();
  auto b = other.slots_.begin();
  const auto skip = [](auto& it, const auto end) {
    while (it != end && !it->live) ++it;
  };
  while (true) {
    skip(a, slots_.end());
    skip(b, other.slots_.end());
    if (a == slots_.end() || b == other.slots_.end())
      return a == slots_.end() && b == other.slots_.end();
    if (a->position != b->position || a->funding != b->funding) return false;
    ++a;
    ++b;
  }
}

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
  if (s.total_funded != 0 || s.participants != 0) {
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
  if (!s.live_fundings.Append(e.position,
                              LiveFunding{d.backer, d.units, d.amount, e.stream_version})) {
    return Broken(e, "a funding at a position not after the post's last funding");
  }
  BackerState& b = s.backers[d.backer];
  const auto units = CheckedAdd(b.units, d.units);
  const auto amount = CheckedAdd(b.amount, d.amount);
  const auto total = CheckedAdd(s.total_funded, d.amount);
  const auto count = CheckedAdd(s.funding_count, 1);
  if (!units || !amount || !total || !count) return Broken(e, "funding overflows int64");
  if (b.fundings == 0) ++s.participants;
  b.units = *units;
  b.amount = *amount;
  b.fundings += 1;
  b.live_positions.push_back(e.position);
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
  // The backer's own positions: a settlement refunding 10 000 backers stays
  // linear instead of walking every funding once per backer.
  for (const int64_t position : it->second.live_positions) {
    s.live_fundings.Remove(position);
    s.refunded_fundings.emplace_hint(s.refunded_fundings.end(), position,
                                     EndedFunding{d.backer, e.stream_version});
  }
  s.backers.erase(it);
  --s.participants;
  return Status::Ok();
}

Status ApplyData(PostState& s, const events::Event& e, const events::FundingCancelled& d) {
  if (!s.exists() || s.deleted) return Broken(e, "cancellation on a missing or deleted post");
  if (s.settled()) return Broken(e, "cancellation on a settled post");
  const LiveFunding* funding = s.live_fundings.Find(d.funding_position);
  if (funding == nullptr) return Broken(e, "cancellation of no live funding");
  if (funding->backer != d.backer || funding->units != d.units || funding->amount != d.amount) {
    return Broken(e, "cancellation differs from the funding it names");
  }
  const auto found = s.backers.find(d.backer);
  if (found == s.backers.end() || found->second.fundings < 1 || found->second.units < d.units ||
      found->second.amount < d.amount) {
    return Broken(e, "cancellation of more than the backer has live");
  }
  BackerState& b = found->second;
  b.units -= d.units;
  b.amount -= d.amount;
  b.fundings -= 1;
  b.live_positions.erase(d.funding_position);
  if (b.fundings == 0) {
    s.backers.erase(d.backer);
    --s.participants;
  }
  s.total_funded -= d.amount;
  s.funding_count -= 1;
  s.live_fundings.Remove(d.funding_position);
  s.cancelled_fundings.emplace(d.funding_position, EndedFunding{d.backer, e.stream_version});
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

PostState SummaryOf(const PostState& p) {
  // Field by field: copying the collections only to drop them would cost as
  // much as the post has backers. state_codec_test compares this with a
  // summary decoded from the records, so a field left out here shows.
  PostState s;
  s.id = p.id;
  s.version = p.version;
  s.header_version = p.header_version;
  s.funds_version = p.funds_version;
  s.deleted = p.deleted;
  s.owner = p.owner;
  s.title = p.title;
  s.uploader = p.uploader;
  s.description = p.description;
  s.target_amount = p.target_amount;
  s.funding_unit = p.funding_unit;
  s.end_date = p.end_date;
  s.closes_at = p.closes_at;
  s.created_at = p.created_at;
  s.funding_model = p.funding_model;
  s.max_fundings_per_backer = p.max_fundings_per_backer;
  s.ever_funded = p.ever_funded;
  s.settlement = p.settlement;
  s.total_funded = p.total_funded;
  s.funding_count = p.funding_count;
  s.participants = p.participants;
  return s;
}

bool ChangesOnlyFundings(events::EventType type) {
  return type == events::EventType::kPostFunded || type == events::EventType::kFundingCancelled ||
         type == events::EventType::kFundingRefunded;
}

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
  if (ChangesOnlyFundings(event.type())) {
    state.funds_version = event.stream_version;
  } else {
    state.header_version = event.stream_version;
  }
  return Status::Ok();
}

}  // namespace ledger::commands

#pragma once

// What the Decide tests share: event printers for readable failures, the
// standard post, and a fixture that runs Decide at a fixed time.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "commands/decide.h"
#include "commands/post_state.h"
#include "common/time_format.h"
#include "common/time_zone.h"
#include "events/event.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

// Readable failure messages for event data.
namespace ledger::events {

inline void PrintTo(const PostCreated& d, std::ostream* os) {
  *os << "PostCreated{title=\"" << d.title << "\", uploader=\"" << d.uploader << "\", owner=\""
      << d.owner << "\", description(" << d.description.size()
      << " bytes), target_amount=" << d.target_amount << ", funding_unit=" << d.funding_unit
      << ", end_date=" << FormatDate(d.end_date) << ", closes_at=" << FormatTimestamp(d.closes_at)
      << ", funding_model=" << FundingModelName(d.funding_model) << ", max_fundings_per_backer="
      << (d.max_fundings_per_backer ? std::to_string(*d.max_fundings_per_backer) : "null") << "}";
}

inline void PrintTo(const PostEdited& d, std::ostream* os) {
  *os << "PostEdited{";
  if (d.title) *os << "title=\"" << *d.title << "\" ";
  if (d.uploader) *os << "uploader=\"" << *d.uploader << "\" ";
  if (d.description) *os << "description(" << d.description->size() << " bytes) ";
  if (d.funding_unit) *os << "funding_unit=" << *d.funding_unit << " ";
  if (d.end_date) *os << "end_date=" << FormatDate(*d.end_date) << " ";
  if (d.closes_at) *os << "closes_at=" << FormatTimestamp(*d.closes_at);
  *os << "}";
}

inline void PrintTo(const PostDeleted& d, std::ostream* os) {
  *os << "PostDeleted{refunded_amount=" << d.refunded_amount
      << ", refunded_backers=" << d.refunded_backers << "}";
}

inline void PrintTo(const PostFunded& d, std::ostream* os) {
  *os << "PostFunded{backer=\"" << d.backer << "\", units=" << d.units << ", amount=" << d.amount
      << "}";
}

inline void PrintTo(const FundingRefunded& d, std::ostream* os) {
  *os << "FundingRefunded{backer=\"" << d.backer << "\", units=" << d.units
      << ", amount=" << d.amount << "}";
}

}  // namespace ledger::events

namespace ledger::commands::testing {

using events::EventData;
using events::PostCreated;
using events::PostFunded;
using ::ledger::testing::At;
using ::ledger::testing::D;
using std::chrono::hours;

inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
inline constexpr std::string_view kOwner = "owner-7";
inline constexpr std::string_view kBacker = "backer-1";
inline constexpr int64_t kPostId = 7;
inline constexpr int64_t kNextPostId = 42;
inline constexpr int64_t kUnit = 10'000;  // funding_unit of the standard post

inline std::string Repeat(std::string_view unit, size_t n) {
  std::string out;
  out.reserve(unit.size() * n);
  for (size_t i = 0; i < n; ++i) out.append(unit);
  return out;
}

inline ::testing::AssertionResult IsAccepted(const Decision& d) {
  if (!d.accepted()) {
    return ::testing::AssertionFailure()
           << "rejected " << ReasonName(d.rejection->reason) << " at '" << d.rejection->field
           << "': " << d.rejection->detail;
  }
  if (d.events.empty()) {
    return ::testing::AssertionFailure() << "accepted without events";
  }
  return ::testing::AssertionSuccess();
}

// Rejected for `reason` at JSON pointer `field`, with a detail for humans and
// no events.
inline ::testing::AssertionResult IsRejected(const Decision& d, RejectReason reason,
                                             std::string_view field) {
  if (d.accepted()) {
    return ::testing::AssertionFailure()
           << "accepted with " << d.events.size() << " events; expected " << ReasonName(reason)
           << " at '" << field << "'";
  }
  const Rejection& r = *d.rejection;
  if (r.reason != reason || r.field != field) {
    return ::testing::AssertionFailure()
           << "rejected " << ReasonName(r.reason) << " at '" << r.field << "' (" << r.detail
           << "); expected " << ReasonName(reason) << " at '" << field << "'";
  }
  if (!d.events.empty()) {
    return ::testing::AssertionFailure()
           << "rejected but produced " << d.events.size() << " events";
  }
  if (r.detail.empty()) {
    return ::testing::AssertionFailure() << "rejection has no detail";
  }
  return ::testing::AssertionSuccess();
}

// The data of event `i` if it is a T, else null.
template <typename T>
const T* DataAt(const Decision& d, size_t i) {
  return i < d.events.size() ? std::get_if<T>(&d.events[i].data) : nullptr;
}

// Builds a post's state the way the sequencer does: by applying its events,
// in order, with Apply.
class PostHistory {
 public:
  explicit PostHistory(int64_t id) : id_(id) {}

  void Append(EventData data, Timestamp recorded_at = Timestamp{}) {
    events::Event e;
    e.position = ++position_;
    e.stream = id_;
    e.stream_version = state_.version + 1;
    e.recorded_at = recorded_at;
    e.data = std::move(data);
    ASSERT_OK(Apply(state_, e));
  }

  // Appends what Decide produced, as the sequencer would.
  // `recorded_at` is what the sequencer would record: the decision's time.
  void AppendAll(const std::vector<NewEvent>& events, Timestamp recorded_at = Timestamp{}) {
    for (const NewEvent& e : events) {
      EXPECT_EQ(e.stream, id_);
      Append(e.data, recorded_at);
    }
  }

  void Fund(std::string_view backer, int64_t units) {
    Append(PostFunded{std::string(backer), units, units * state_.funding_unit});
  }

  const PostState& state() const { return state_; }
  // For states too large to build event by event.
  PostState& mutable_state() { return state_; }

 private:
  int64_t id_;
  int64_t position_ = 0;
  PostState state_;
};

class DecideTest : public ::testing::Test {
 protected:
  DecideContext Ctx(std::string_view actor) const {
    DecideContext ctx;
    ctx.now = now_;
    ctx.time_zone = &zone_;
    ctx.actor = actor;
    ctx.next_post_id = kNextPostId;
    return ctx;
  }

  Decision Run(const PostState* post, const Command& command, std::string_view actor) const {
    return Decide(post, command, Ctx(actor));
  }
  Decision Run(const PostHistory& h, const Command& command, std::string_view actor) const {
    return Run(&h.state(), command, actor);
  }

  static PostDraft ValidDraft() {
    PostDraft p;
    p.title = "내 취미 만들기";
    p.uploader = "홍길동";
    p.description = "취미를 위한 첫 펀딩";
    p.target_amount = 1'000'000;
    p.funding_unit = kUnit;
    p.end_date = D("2026-11-21");
    return p;
  }

  Decision Create(PostDraft p) const {
    return Run(nullptr, CreatePosts{{std::move(p)}, false}, kOwner);
  }

  // Post kPostId as created by kOwner from ValidDraft(): version 1, funding
  // open until 2026-11-21T15:00:00Z.
  PostHistory OpenPost() const {
    PostHistory h(kPostId);
    const PostDraft p = ValidDraft();
    h.Append(PostCreated{p.title, p.uploader, std::string(kOwner), p.description, p.target_amount,
                         p.funding_unit, p.end_date, zone_.ClosesAt(p.end_date),
                         events::FundingModel::kKeepItAll, std::nullopt},
             now_ - hours(24));
    return h;
  }

  static EditPost Edit() {
    EditPost e;
    e.post_id = kPostId;
    return e;
  }

  // Noon of 2026-11-01 in Seoul.
  Timestamp now_ = At("2026-11-01T03:00:00.000000Z");
  TimeZone zone_ = TimeZone::Load("Asia/Seoul").value();
};

}  // namespace ledger::commands::testing

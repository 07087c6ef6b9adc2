#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "commands/post_state.h"
#include "common/status.h"
#include "events/event.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::commands::testing {

using events::Event;
using events::EventData;
using events::PostCreated;
using events::PostFunded;
using ::ledger::testing::At;
using ::ledger::testing::D;

inline constexpr int64_t kPostId = 7;

inline Event MakeEvent(int64_t stream, int64_t version, EventData data,
                       Timestamp recorded_at = Timestamp{}) {
  Event e;
  e.position = 100 + version;
  e.stream = stream;
  e.stream_version = version;
  e.recorded_at = recorded_at;
  e.actor = "someone";
  e.data = std::move(data);
  return e;
}

inline PostCreated Created() {
  return PostCreated{"내 취미 만들기",
                     "홍길동",
                     "owner-7",
                     "설명",
                     1'000'000,
                     10'000,
                     D("2026-11-21"),
                     At("2026-11-21T15:00:00.000000Z"),
                     events::FundingModel::kKeepItAll,
                     std::nullopt};
}

inline ::testing::AssertionResult IsCorruption(const Status& s) {
  if (s.code() != Status::Code::kCorruption) {
    return ::testing::AssertionFailure() << "expected Corruption, got " << s.ToString();
  }
  return ::testing::AssertionSuccess();
}

// Applies events to one post's state, numbering its versions.
class PostStateTest : public ::testing::Test {
 protected:
  // Applies `data` as the next event of post kPostId.
  Status Next(EventData data) {
    return Apply(state_, MakeEvent(kPostId, state_.version + 1, std::move(data)));
  }
  // The same, recorded at `at`.
  Status NextAt(EventData data, Timestamp at) {
    return Apply(state_, MakeEvent(kPostId, state_.version + 1, std::move(data), at));
  }
  void Create() { ASSERT_OK(Next(Created())); }
  void Fund(std::string backer, int64_t units, int64_t amount) {
    ASSERT_OK(Next(PostFunded{std::move(backer), units, amount}));
  }

  PostState state_{};
};

}  // namespace ledger::commands::testing

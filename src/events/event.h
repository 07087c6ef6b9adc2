#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/clock.h"
#include "common/time_format.h"
#include "events/hash.h"

namespace ledger::events {

// The schema version every event is written with today, and the oldest one
// still read. Version 2 added PostCreated's funding_model and
// max_fundings_per_backer and the types FundingCancelled and PostSettled. A
// version-1 event is upcast in memory when decoded (PostCreated gets
// keep_it_all and no limit) but keeps its schema_version, so that encoding it
// again gives exactly its stored, hashed bytes.
inline constexpr int32_t kCurrentSchemaVersion = 2;
inline constexpr int32_t kOldestSchemaVersion = 1;

// What happens to a post's money when it closes under its target:
// keep_it_all keeps it, all_or_nothing refunds every live funding.
enum class FundingModel : uint8_t { kKeepItAll, kAllOrNothing };
std::string_view FundingModelName(FundingModel model);  // "keep_it_all", ...
std::optional<FundingModel> FundingModelFromName(std::string_view name);

// A campaign was opened. `closes_at` is the instant funding closes (the end of
// end_date in the service time zone when the post was created), recorded so
// that a later change of the service's time zone never moves a deadline.
struct PostCreated {
  std::string title;
  std::string uploader;
  std::string owner;
  std::string description;
  int64_t target_amount = 0;
  int64_t funding_unit = 0;
  CivilDate end_date{};
  Timestamp closes_at;
  // Schema version 2; a version-1 event reads as keep_it_all with no limit.
  FundingModel funding_model = FundingModel::kKeepItAll;
  std::optional<int64_t> max_fundings_per_backer;  // live fundings of one backer

  bool operator==(const PostCreated&) const = default;
};

// Some editable fields changed; absent fields kept their value. `closes_at`
// is present exactly when `end_date` is.
struct PostEdited {
  std::optional<std::string> title;
  std::optional<std::string> uploader;
  std::optional<std::string> description;
  std::optional<int64_t> funding_unit;
  std::optional<CivilDate> end_date;
  std::optional<Timestamp> closes_at;
  // Schema version 2: the funding terms, edited before the first funding.
  // The limit's inner nullopt (JSON null) removes it.
  std::optional<FundingModel> funding_model;
  std::optional<std::optional<int64_t>> max_fundings_per_backer;

  bool operator==(const PostEdited&) const = default;
};

// Overwrites the fields of `post` that `edit` carries. `Post` is any type
// with the editable fields under the same names (PostCreated, the command
// layer's PostState).
template <typename Post>
void ApplyEditTo(Post& post, const PostEdited& edit) {
  if (edit.title) post.title = *edit.title;
  if (edit.uploader) post.uploader = *edit.uploader;
  if (edit.description) post.description = *edit.description;
  if (edit.funding_unit) post.funding_unit = *edit.funding_unit;
  if (edit.end_date) post.end_date = *edit.end_date;
  if (edit.closes_at) post.closes_at = *edit.closes_at;
  if (edit.funding_model) post.funding_model = *edit.funding_model;
  if (edit.max_fundings_per_backer) post.max_fundings_per_backer = *edit.max_fundings_per_backer;
}

// The post was withdrawn by its owner. Its live fundings were refunded by the
// FundingRefunded events just before this one in the same append; the totals
// here let an auditor check that from this event alone.
struct PostDeleted {
  int64_t refunded_amount = 0;
  int64_t refunded_backers = 0;

  bool operator==(const PostDeleted&) const = default;
};

// A backer added units × funding_unit to the post.
struct PostFunded {
  std::string backer;
  int64_t units = 0;
  int64_t amount = 0;

  bool operator==(const PostFunded&) const = default;
};

// Compensation: every live funding of `backer` on this post, returned.
struct FundingRefunded {
  std::string backer;
  int64_t units = 0;
  int64_t amount = 0;

  bool operator==(const FundingRefunded&) const = default;
};

// A backer took back one of their live fundings, the PostFunded event at
// `funding_position`, before the deadline. Schema version 2.
struct FundingCancelled {
  std::string backer;
  int64_t funding_position = 0;
  int64_t units = 0;
  int64_t amount = 0;

  bool operator==(const FundingCancelled&) const = default;
};

enum class SettlementOutcome : uint8_t { kSuccessful, kFailed };
std::string_view OutcomeName(SettlementOutcome outcome);  // "successful", "failed"
std::optional<SettlementOutcome> OutcomeFromName(std::string_view name);

// The service closed the post at its deadline (actor "system"). The figures
// are the post's at that moment; a failed all_or_nothing post's live fundings
// were refunded by the FundingRefunded events just before this one in the
// same append, and refunded_* total them. Schema version 2.
struct PostSettled {
  SettlementOutcome outcome = SettlementOutcome::kSuccessful;
  int64_t total_funded = 0;
  int64_t participant_count = 0;
  int64_t refunded_amount = 0;
  int64_t refunded_backers = 0;

  bool operator==(const PostSettled&) const = default;
};

using EventData = std::variant<PostCreated, PostEdited, PostDeleted, PostFunded, FundingRefunded,
                               FundingCancelled, PostSettled>;

enum class EventType : uint8_t {
  kPostCreated,
  kPostEdited,
  kPostDeleted,
  kPostFunded,
  kFundingRefunded,
  kFundingCancelled,
  kPostSettled,
};
inline constexpr size_t kEventTypeCount = 7;

// True exactly for the enumerators of EventType. The switch has no default,
// so an enumerator added without a case here does not compile; the
// static_asserts below then hold kEventTypeCount to the enumerators and to
// the alternatives of EventData (TypeOf is the variant's index).
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr bool IsEventType(EventType type) {
  switch (type) {
    case EventType::kPostCreated:
    case EventType::kPostEdited:
    case EventType::kPostDeleted:
    case EventType::kPostFunded:
    case EventType::kFundingRefunded:
    case EventType::kFundingCancelled:
    case EventType::kPostSettled:
      return true;
  }
  return false;
}
#pragma GCC diagnostic pop
static_assert(
    [] {
      for (unsigned value = 0; value <= UINT8_MAX; ++value) {
        const bool counted = value < kEventTypeCount;
        if (IsEventType(static_cast<EventType>(value)) != counted) return false;
      }
      return true;
    }(),
    "the EventType enumerators must be exactly 0 .. kEventTypeCount - 1");
static_assert(std::variant_size_v<EventData> == kEventTypeCount,
              "every EventType has one alternative of EventData");

EventType TypeOf(const EventData& data);
// "PostCreated", ...: the envelope's `type` and the schema file's name.
std::string_view TypeName(EventType type);
std::optional<EventType> TypeFromName(std::string_view name);
// The oldest schema version in which `type` exists.
int32_t FirstSchemaVersion(EventType type);

// One entry of the log, in the envelope of product.md. Each post is a stream
// identified by its post id; it appears in JSON as "post-<id>".
struct Event {
  int64_t position = 0;
  int64_t stream = 0;
  int64_t stream_version = 0;
  int32_t schema_version = kCurrentSchemaVersion;
  Timestamp recorded_at;
  std::string actor;
  std::string correlation_id;
  std::string idempotency_key;  // empty: none
  EventData data;
  Hash prev_hash{};
  Hash hash{};

  EventType type() const { return TypeOf(data); }
  bool operator==(const Event&) const = default;
};

}  // namespace ledger::events

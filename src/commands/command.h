#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/time_format.h"
#include "events/event.h"

namespace ledger::commands {

// The fields of one post to create, as the client sent them (untrimmed).
struct PostDraft {
  std::string title;
  std::string uploader;
  std::string description;
  int64_t target_amount = 0;
  int64_t funding_unit = 0;
  CivilDate end_date{};
  events::FundingModel funding_model = events::FundingModel::kKeepItAll;
  std::optional<int64_t> max_fundings_per_backer;  // none: no limit
};

// Create one post, or several all or none. `as_array` records that the client
// sent an array, so that field pointers in a rejection read "/2/title".
struct CreatePosts {
  std::vector<PostDraft> posts;
  bool as_array = false;
};

// Change some fields of a post. `target_amount` exists only so that a request
// naming it can be refused with a rejection that names the field.
struct EditPost {
  int64_t post_id = 0;
  std::optional<int64_t> expected_version;
  std::optional<std::string> title;
  std::optional<std::string> uploader;
  std::optional<std::string> description;
  std::optional<int64_t> funding_unit;
  std::optional<CivilDate> end_date;
  std::optional<int64_t> target_amount;
  // The funding terms, editable until the post's first funding. The limit's
  // inner nullopt removes it.
  std::optional<events::FundingModel> funding_model;
  std::optional<std::optional<int64_t>> max_fundings_per_backer;
};

struct DeletePost {
  int64_t post_id = 0;
  std::optional<int64_t> expected_version;
};

struct FundPost {
  int64_t post_id = 0;
  int64_t units = 1;
};

// Take back one live funding: the PostFunded event at `funding_position`,
// which must be the actor's own.
struct CancelFunding {
  int64_t post_id = 0;
  int64_t funding_position = 0;
};

// Close the post at its deadline. Submitted by the service itself (actor
// kSystemActor), never through the API.
struct SettlePost {
  int64_t post_id = 0;
};

// The actor of what the service does on its own (settlements).
inline constexpr std::string_view kSystemActor = "system";

using Command =
    std::variant<CreatePosts, EditPost, DeletePost, FundPost, CancelFunding, SettlePost>;

// The post a command addresses; 0 for CreatePosts.
int64_t TargetPost(const Command& command);

}  // namespace ledger::commands

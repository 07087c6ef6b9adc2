#include "api/json_out.h"

#include "common/json_writer.h"
#include "common/time_format.h"
#include "events/codec.h"

namespace ledger::api {
namespace {

// The summary's members, without the braces, so the detail can extend them.
void SummaryMembers(JsonWriter& w, const projections::PostSummary& s) {
  w.Member("id", s.id);
  w.Member("title", s.title);
  w.Member("uploader", s.uploader);
  w.Member("total_funded", s.total_funded);
  w.Member("achievement_rate", s.achievement_rate);
  w.Member("d_day", s.d_day);
  w.Member("status", projections::PostStatusName(s.status));
}

void WritePost(JsonWriter& w, const projections::PostDetail& d, std::optional<int64_t> position) {
  w.StartObject();
  SummaryMembers(w, d.summary);
  w.Member("description", d.description);
  w.Member("target_amount", d.target_amount);
  w.Member("funding_unit", d.funding_unit);
  w.Member("funding_model", events::FundingModelName(d.funding_model));
  w.Key("max_fundings_per_backer");
  if (d.max_fundings_per_backer) {
    w.Int64(*d.max_fundings_per_backer);
  } else {
    w.Null();
  }
  w.Member("end_date", FormatDate(d.end_date));
  w.Member("participant_count", d.participant_count);
  w.Member("created_at", FormatTimestamp(d.created_at));
  w.Member("version", d.version);
  if (position) w.Member("position", *position);
  w.EndObject();
}

}  // namespace

std::string SummaryJson(const projections::PostSummary& post) {
  JsonWriter w;
  w.StartObject();
  SummaryMembers(w, post);
  w.EndObject();
  return std::move(w).Take();
}

std::string PostJson(const projections::PostDetail& post, std::optional<int64_t> position) {
  JsonWriter w;
  WritePost(w, post, position);
  return std::move(w).Take();
}

std::string PostsArrayJson(const std::vector<projections::PostDetail>& posts, int64_t position) {
  JsonWriter w;
  w.StartArray();
  for (const projections::PostDetail& post : posts) WritePost(w, post, position);
  w.EndArray();
  return std::move(w).Take();
}

std::string PageJson(const projections::PostPage& page) {
  JsonWriter w;
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const projections::PostSummary& s : page.items) {
    w.StartObject();
    SummaryMembers(w, s);
    w.EndObject();
  }
  w.EndArray();
  w.Key("next_cursor");
  if (page.next_cursor) {
    w.String(*page.next_cursor);
  } else {
    w.Null();
  }
  w.EndObject();
  return std::move(w).Take();
}

namespace {

void NextCursor(JsonWriter& w, const std::optional<std::string>& cursor) {
  w.Key("next_cursor");
  if (cursor) {
    w.String(*cursor);
  } else {
    w.Null();
  }
}

}  // namespace

std::string FundingsPageJson(const projections::FundingPage& page) {
  JsonWriter w;
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const projections::FundingItem& f : page.items) {
    w.StartObject();
    w.Member("position", f.position);
    w.Member("post_id", f.post_id);
    w.Key("title");
    if (f.title) {
      w.String(*f.title);
    } else {
      w.Null();
    }
    w.Member("units", f.units);
    w.Member("amount", f.amount);
    w.Member("recorded_at", FormatTimestamp(f.recorded_at));
    w.Member("state", projections::FundingStateName(f.state));
    w.EndObject();
  }
  w.EndArray();
  NextCursor(w, page.next_cursor);
  w.EndObject();
  return std::move(w).Take();
}

std::string BackersPageJson(const projections::BackerPage& page) {
  JsonWriter w;
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const projections::BackerItem& b : page.items) {
    w.StartObject();
    w.Member("backer", b.backer);
    w.Member("units", b.units);
    w.Member("amount", b.amount);
    w.Member("fundings", b.fundings);
    w.EndObject();
  }
  w.EndArray();
  NextCursor(w, page.next_cursor);
  w.EndObject();
  return std::move(w).Take();
}

std::string FundingJson(int64_t post_id, std::string_view backer, int64_t units, int64_t amount,
                        int64_t position) {
  JsonWriter w;
  w.StartObject();
  w.Member("post_id", post_id);
  w.Member("backer", backer);
  w.Member("units", units);
  w.Member("amount", amount);
  w.Member("position", position);
  w.EndObject();
  return std::move(w).Take();
}

std::string EventsPageJson(const std::vector<events::Event>& items,
                           std::optional<int64_t> next_after) {
  JsonWriter w;
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const events::Event& e : items) {
    w.Raw(events::EncodeEnvelopeJson(e));
  }
  w.EndArray();
  w.Key("next_after");
  if (next_after) {
    w.Int64(*next_after);
  } else {
    w.Null();
  }
  w.EndObject();
  return std::move(w).Take();
}

}  // namespace ledger::api

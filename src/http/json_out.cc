#include "http/json_out.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/time_format.h"
#include "events/codec.h"
#include "events/json_writer.h"

namespace ledger::http {
namespace {

using json::Key;
using json::Str;
using json::Writer;

std::string Text(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The summary's members, without the braces, so the detail can extend them.
void SummaryMembers(Writer& w, const projections::PostSummary& s) {
  Key(w, "id");
  w.Int64(s.id);
  Key(w, "title");
  Str(w, s.title);
  Key(w, "uploader");
  Str(w, s.uploader);
  Key(w, "total_funded");
  w.Int64(s.total_funded);
  Key(w, "achievement_rate");
  w.Int64(s.achievement_rate);
  Key(w, "d_day");
  w.Int64(s.d_day);
  Key(w, "status");
  Str(w, projections::PostStatusName(s.status));
}

void WritePost(Writer& w, const projections::PostDetail& d, std::optional<int64_t> position) {
  w.StartObject();
  SummaryMembers(w, d.summary);
  Key(w, "description");
  Str(w, d.description);
  Key(w, "target_amount");
  w.Int64(d.target_amount);
  Key(w, "funding_unit");
  w.Int64(d.funding_unit);
  Key(w, "end_date");
  Str(w, FormatDate(d.end_date));
  Key(w, "participant_count");
  w.Int64(d.participant_count);
  Key(w, "created_at");
  Str(w, FormatTimestamp(d.created_at));
  Key(w, "version");
  w.Int64(d.version);
  if (position) {
    Key(w, "position");
    w.Int64(*position);
  }
  w.EndObject();
}

}  // namespace

std::string SummaryJson(const projections::PostSummary& post) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  SummaryMembers(w, post);
  w.EndObject();
  return Text(buffer);
}

std::string PostJson(const projections::PostDetail& post, std::optional<int64_t> position) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  WritePost(w, post, position);
  return Text(buffer);
}

std::string PostsArrayJson(const std::vector<projections::PostDetail>& posts, int64_t position) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const projections::PostDetail& post : posts) WritePost(w, post, position);
  w.EndArray();
  return Text(buffer);
}

std::string PageJson(const projections::PostPage& page) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "items");
  w.StartArray();
  for (const projections::PostSummary& s : page.items) {
    w.StartObject();
    SummaryMembers(w, s);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "next_cursor");
  if (page.next_cursor) {
    Str(w, *page.next_cursor);
  } else {
    w.Null();
  }
  w.EndObject();
  return Text(buffer);
}

std::string FundingJson(int64_t post_id, std::string_view backer, int64_t units, int64_t amount,
                        int64_t position) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "post_id");
  w.Int64(post_id);
  Key(w, "backer");
  Str(w, backer);
  Key(w, "units");
  w.Int64(units);
  Key(w, "amount");
  w.Int64(amount);
  Key(w, "position");
  w.Int64(position);
  w.EndObject();
  return Text(buffer);
}

std::string HeadJson(int64_t position, std::string_view hash_hex) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "position");
  w.Int64(position);
  Key(w, "hash");
  Str(w, hash_hex);
  w.EndObject();
  return Text(buffer);
}

std::string EventsPageJson(const std::vector<events::Event>& items,
                           std::optional<int64_t> next_after) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "items");
  w.StartArray();
  for (const events::Event& e : items) {
    const std::string envelope = events::EncodeEnvelopeJson(e);
    w.RawValue(envelope.data(), envelope.size(), rapidjson::kObjectType);
  }
  w.EndArray();
  Key(w, "next_after");
  if (next_after) {
    w.Int64(*next_after);
  } else {
    w.Null();
  }
  w.EndObject();
  return Text(buffer);
}

}  // namespace ledger::http

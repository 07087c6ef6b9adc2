#include "commands/fingerprint.h"

#include <string>
#include <type_traits>

#include "events/keys.h"

namespace ledger::commands {
namespace {

class Serializer {
 public:
  void Tag(char tag) { out_.push_back(tag); }
  void Int(int64_t v) { events::AppendBigEndian64(&out_, static_cast<uint64_t>(v)); }
  void Text(std::string_view s) {
    events::AppendBigEndian64(&out_, s.size());
    out_.append(s);
  }
  void Date(CivilDate d) { Text(FormatDate(d)); }
  template <typename T, typename F>
  void Optional(const std::optional<T>& v, F write) {
    if (v) {
      Tag('1');
      write(*v);
    } else {
      Tag('0');
    }
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

void Write(Serializer& s, const CreatePosts& c) {
  s.Tag('C');
  s.Tag(c.as_array ? 'A' : 'O');
  s.Int(static_cast<int64_t>(c.posts.size()));
  for (const PostDraft& p : c.posts) {
    s.Text(p.title);
    s.Text(p.uploader);
    s.Text(p.description);
    s.Int(p.target_amount);
    s.Int(p.funding_unit);
    s.Date(p.end_date);
    // The funding terms (schema version 2) only when they differ from the
    // defaults, so that a request without them keeps the fingerprint it had
    // before they existed: a retry across the upgrade still matches.
    if (p.funding_model != events::FundingModel::kKeepItAll || p.max_fundings_per_backer) {
      s.Tag('T');
      s.Int(static_cast<int64_t>(p.funding_model));
      s.Optional(p.max_fundings_per_backer, [&s](int64_t v) { s.Int(v); });
    }
  }
}

void Write(Serializer& s, const EditPost& c) {
  const auto text = [&s](const std::string& v) { s.Text(v); };
  const auto integer = [&s](int64_t v) { s.Int(v); };
  s.Tag('E');
  s.Int(c.post_id);
  s.Optional(c.expected_version, integer);
  s.Optional(c.title, text);
  s.Optional(c.uploader, text);
  s.Optional(c.description, text);
  s.Optional(c.funding_unit, integer);
  s.Optional(c.end_date, [&s](CivilDate d) { s.Date(d); });
  s.Optional(c.target_amount, integer);
  if (c.funding_model || c.max_fundings_per_backer) {  // as for PostDraft
    s.Tag('T');
    s.Optional(c.funding_model, [&s](events::FundingModel m) { s.Int(static_cast<int64_t>(m)); });
    s.Optional(c.max_fundings_per_backer, [&s](const std::optional<int64_t>& limit) {
      s.Optional(limit, [&s](int64_t v) { s.Int(v); });
    });
  }
}

void Write(Serializer& s, const DeletePost& c) {
  s.Tag('D');
  s.Int(c.post_id);
  s.Optional(c.expected_version, [&s](int64_t v) { s.Int(v); });
}

void Write(Serializer& s, const FundPost& c) {
  s.Tag('F');
  s.Int(c.post_id);
  s.Int(c.units);
}

void Write(Serializer& s, const CancelFunding& c) {
  s.Tag('X');
  s.Int(c.post_id);
  s.Int(c.funding_position);
}

void Write(Serializer& s, const SettlePost& c) {
  s.Tag('S');
  s.Int(c.post_id);
}

}  // namespace

events::Hash Fingerprint(const Command& command) {
  Serializer s;
  std::visit([&s](const auto& c) { Write(s, c); }, command);
  return events::Sha256(s.bytes());
}

}  // namespace ledger::commands

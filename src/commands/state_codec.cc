#include "commands/state_codec.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <variant>

#include "common/money.h"
#include "common/time_format.h"
#include "events/keys.h"

namespace ledger::commands::state {
namespace {

// Every value starts with this byte; a change of layout gets a new one.
// Layout 1 (before fundings carried their versions) kept the totals in the
// header and rewrote it with every funding. Layout 2 kept no totals and no
// per-backer records: a post could only be read whole.
constexpr char kRecordVersion = 3;
constexpr char kPostTag = 'p';
constexpr char kScheduleTag = 's';
constexpr char kBackerSuffix = 'b';
constexpr char kTextSuffix = 'd';
constexpr char kFundingSuffix = 'f';
constexpr char kHeaderSuffix = 'h';
constexpr char kTotalsSuffix = 't';
constexpr uint64_t kSignBit = uint64_t{1} << 63;

void PutInt(std::string& out, int64_t v) {
  events::AppendBigEndian64(&out, static_cast<uint64_t>(v));
}

void PutText(std::string& out, std::string_view text) {
  events::AppendBigEndian32(&out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

int64_t Micros(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMicros(int64_t us) { return Timestamp(std::chrono::microseconds(us)); }

// Reads what the Put functions wrote; every read checks the bytes are there.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool Int(int64_t& v) {
    if (rest_.size() < 8) return false;
    v = static_cast<int64_t>(events::ReadBigEndian64(rest_));
    rest_.remove_prefix(8);
    return true;
  }
  bool Byte(uint8_t& v) {
    if (rest_.empty()) return false;
    v = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return true;
  }
  bool Text(std::string& v) {
    if (rest_.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(rest_[static_cast<size_t>(i)]);
    rest_.remove_prefix(4);
    if (rest_.size() < n) return false;
    v.assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }
  bool Bytes(void* out, size_t n) {
    if (rest_.size() < n) return false;
    std::memcpy(out, rest_.data(), n);
    rest_.remove_prefix(n);
    return true;
  }
  bool Version() {
    uint8_t v = 0;
    return Byte(v) && v == kRecordVersion;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::string PostKey(int64_t post_id, char suffix) {
  std::string key(1, kPostTag);
  PutInt(key, post_id);
  key.push_back(suffix);
  return key;
}

}  // namespace

std::string HeadKey() { return "mhead"; }

std::string EncodeHead(const StateHead& head) {
  std::string out(1, kRecordVersion);
  PutInt(out, head.position);
  out.append(reinterpret_cast<const char*>(head.hash.data()), head.hash.size());
  PutInt(out, head.next_post);
  PutInt(out, Micros(head.last_recorded_at));
  return out;
}

bool OlderLayout(std::string_view head_value) {
  return !head_value.empty() && head_value.front() >= 1 && head_value.front() < kRecordVersion;
}

Result<StateHead> DecodeHead(std::string_view value) {
  if (OlderLayout(value)) {
    return Status::FailedPrecondition(
        "the sequencer state was written in layout " + std::to_string(int{value.front()}) +
        ", older than this binary's " + std::to_string(int{kRecordVersion}) +
        "; serve rebuilds it from the log on its next start");
  }
  if (!value.empty() && value.front() > kRecordVersion) {
    return Status::FailedPrecondition(
        "the sequencer state was written in layout " + std::to_string(int{value.front()}) +
        " by a newer binary; this one reads layout " + std::to_string(int{kRecordVersion}) +
        ". Run the newer binary, or start serve with --rebuild-state to build this binary's "
        "state from the log");
  }
  Reader r(value);
  StateHead head;
  int64_t recorded_us = 0;
  if (!r.Version() || !r.Int(head.position) || !r.Bytes(head.hash.data(), head.hash.size()) ||
      !r.Int(head.next_post) || !r.Int(recorded_us) || !r.done() || head.position < 0 ||
      head.next_post < 1) {
    return Status::Corruption("the sequencer state's head record is malformed");
  }
  head.last_recorded_at = FromMicros(recorded_us);
  return head;
}

std::optional<std::string> HeadDisagreement(const StateHead& head,
                                            const events::LogHead& log_head) {
  if (head.position == log_head.position && head.hash == log_head.hash) return std::nullopt;
  return "the stored sequencer state is the fold of the log up to position " +
         std::to_string(head.position) + " (hash " + events::ToHex(head.hash) +
         ") but the log's head is at " + std::to_string(log_head.position) + " (hash " +
         events::ToHex(log_head.hash) + "); it was not written with these events";
}

std::string PostBegin(int64_t post_id) {
  std::string key(1, kPostTag);
  PutInt(key, post_id);
  return key;
}
std::string PostEnd(int64_t post_id) { return PostBegin(post_id + 1); }
std::string AllPostsBegin() { return std::string(1, kPostTag); }
std::string AllPostsEnd() { return std::string(1, kPostTag + 1); }
std::string ScheduleBegin() { return std::string(1, kScheduleTag); }
std::string ScheduleEnd() { return std::string(1, kScheduleTag + 1); }

std::string TextKey(int64_t post_id) { return PostKey(post_id, kTextSuffix); }
std::string HeaderKey(int64_t post_id) { return PostKey(post_id, kHeaderSuffix); }
std::string TotalsKey(int64_t post_id) { return PostKey(post_id, kTotalsSuffix); }

std::string BackerKey(int64_t post_id, std::string_view backer) {
  std::string key = PostKey(post_id, kBackerSuffix);
  key.append(backer);
  return key;
}

std::string FundingKey(int64_t post_id, int64_t position) {
  std::string key = PostKey(post_id, kFundingSuffix);
  PutInt(key, position);
  return key;
}

std::string ScheduleKey(Timestamp closes_at, int64_t post_id) {
  std::string key(1, kScheduleTag);
  events::AppendBigEndian64(&key, static_cast<uint64_t>(Micros(closes_at)) ^ kSignBit);
  PutInt(key, post_id);
  return key;
}

Result<std::pair<Timestamp, int64_t>> DecodeScheduleKey(std::string_view key) {
  if (key.size() != 17 || key.front() != kScheduleTag) {
    return Status::Corruption("malformed settlement schedule key in the sequencer state");
  }
  const auto closes = static_cast<int64_t>(events::ReadBigEndian64(key.substr(1)) ^ kSignBit);
  const auto post = static_cast<int64_t>(events::ReadBigEndian64(key.substr(9)));
  return std::pair{FromMicros(closes), post};
}

std::string DescribeKey(std::string_view key) {
  if (key == HeadKey()) return "the head record";
  if (key.size() >= 10 && key.front() == kPostTag) {
    const std::string post =
        "post " + std::to_string(static_cast<int64_t>(events::ReadBigEndian64(key.substr(1))));
    const std::string_view rest = key.substr(10);
    switch (key[9]) {
      case kTextSuffix:
        if (rest.empty()) return post + "'s texts";
        break;
      case kHeaderSuffix:
        if (rest.empty()) return post + "'s header";
        break;
      case kTotalsSuffix:
        if (rest.empty()) return post + "'s totals";
        break;
      case kBackerSuffix:
        return post + "'s backer \"" + std::string(rest) + "\"";
      case kFundingSuffix:
        if (rest.size() == 8) {
          return post + "'s funding at position " +
                 std::to_string(static_cast<int64_t>(events::ReadBigEndian64(rest)));
        }
        break;
      default:
        break;
    }
  }
  if (const auto entry = DecodeScheduleKey(key); entry.ok()) {
    return "the settlement schedule's entry for post " + std::to_string(entry->second) +
           " (closing " + FormatTimestamp(entry->first) + ")";
  }
  return "an unknown state key (" + std::to_string(key.size()) + " bytes)";
}

std::string EncodeText(const PostState& post) {
  std::string out(1, kRecordVersion);
  PutText(out, post.owner);
  PutText(out, post.title);
  PutText(out, post.uploader);
  PutText(out, post.description);
  return out;
}

std::string EncodeHeader(const PostState& p) {
  std::string out(1, kRecordVersion);
  PutInt(out, p.header_version);
  PutInt(out, p.target_amount);
  PutInt(out, p.funding_unit);
  PutInt(out, std::chrono::sys_days(p.end_date).time_since_epoch().count());
  PutInt(out, Micros(p.closes_at));
  PutInt(out, Micros(p.created_at));
  PutInt(out, p.max_fundings_per_backer.value_or(-1));
  out.push_back(static_cast<char>(p.deleted));
  out.push_back(static_cast<char>(p.funding_model));
  out.push_back(static_cast<char>(p.settlement ? 1 + static_cast<int>(*p.settlement) : 0));
  return out;
}

std::string EncodeFunding(FundingFate fate, int64_t version, std::string_view backer, int64_t units,
                          int64_t amount) {
  std::string out;
  out.reserve(1 + 1 + 8 + 4 + backer.size() + (fate == FundingFate::kLive ? 16 : 0));
  out.push_back(kRecordVersion);
  out.push_back(static_cast<char>(fate));
  PutInt(out, version);
  PutText(out, backer);
  if (fate == FundingFate::kLive) {
    PutInt(out, units);
    PutInt(out, amount);
  }
  return out;
}

std::string EncodeBacker(const BackerTotal& backer) {
  std::string out(1, kRecordVersion);
  PutInt(out, backer.units);
  PutInt(out, backer.amount);
  PutInt(out, backer.fundings);
  return out;
}

Result<BackerTotal> DecodeBacker(std::string_view value) {
  Reader r(value);
  BackerTotal b;
  if (!r.Version() || !r.Int(b.units) || !r.Int(b.amount) || !r.Int(b.fundings) || !r.done() ||
      b.units <= 0 || b.amount <= 0 || b.fundings <= 0) {
    return Status::Corruption("malformed backer record");
  }
  return b;
}

std::string EncodeTotals(const PostState& p) {
  std::string out(1, kRecordVersion);
  PutInt(out, p.funds_version);
  PutInt(out, p.total_funded);
  PutInt(out, p.funding_count);
  PutInt(out, p.participants);
  return out;
}

Result<FundingRecord> DecodeFunding(std::string_view value) {
  Reader r(value);
  FundingRecord f;
  uint8_t fate = 0;
  if (!r.Version() || !r.Byte(fate) || !r.Int(f.version) || !r.Text(f.backer) || f.version < 1) {
    return Status::Corruption("malformed funding record");
  }
  f.fate = static_cast<FundingFate>(fate);
  switch (f.fate) {
    case FundingFate::kLive:
      if (!r.Int(f.units) || !r.Int(f.amount) || !r.done() || f.units <= 0 || f.amount <= 0) {
        return Status::Corruption("malformed live funding record");
      }
      return f;
    case FundingFate::kCancelled:
    case FundingFate::kRefunded:
      if (!r.done()) return Status::Corruption("malformed ended funding record");
      return f;
  }
  return Status::Corruption("a funding record of unknown fate");
}

bool Schedulable(const PostState& post) {
  return post.exists() && !post.deleted && !post.settled();
}

std::vector<std::pair<std::string, std::string>> EncodePost(const PostState& post) {
  // Key order: backers ("b", by name), texts ("d"), fundings ("f", by
  // position), header ("h"), totals ("t", once funded).
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::pair<std::string, std::string>> backers;
  backers.reserve(post.backers.size());
  for (const auto& [name, backer] : post.backers) {
    backers.emplace_back(BackerKey(post.id, name), EncodeBacker(backer));
  }
  std::sort(backers.begin(), backers.end());
  out = std::move(backers);
  out.emplace_back(TextKey(post.id), EncodeText(post));
  std::vector<std::pair<int64_t, std::string>> fundings;
  for (const int64_t position : post.live_fundings.Positions()) {
    const LiveFunding& f = *post.live_fundings.Find(position);
    fundings.emplace_back(
        position, EncodeFunding(FundingFate::kLive, f.version, f.backer, f.units, f.amount));
  }
  for (const auto& [position, ended] : post.cancelled_fundings) {
    fundings.emplace_back(
        position, EncodeFunding(FundingFate::kCancelled, ended.version, ended.backer, 0, 0));
  }
  for (const auto& [position, ended] : post.refunded_fundings) {
    fundings.emplace_back(position,
                          EncodeFunding(FundingFate::kRefunded, ended.version, ended.backer, 0, 0));
  }
  std::sort(fundings.begin(), fundings.end());
  for (auto& [position, value] : fundings) {
    out.emplace_back(FundingKey(post.id, position), std::move(value));
  }
  out.emplace_back(HeaderKey(post.id), EncodeHeader(post));
  if (post.funds_version > 0) out.emplace_back(TotalsKey(post.id), EncodeTotals(post));
  return out;
}

Status PostDecoder::Broken(std::string_view problem) const {
  return Status::Corruption("the sequencer state of post " + std::to_string(post_id_) + ": " +
                            std::string(problem));
}

Status PostDecoder::Add(std::string_view key, std::string_view value) {
  const std::string begin = PostBegin(post_id_);
  if (key.size() < begin.size() + 1 || key.substr(0, begin.size()) != begin) {
    return Broken("a record outside the post's keys");
  }
  const char suffix = key[begin.size()];
  const std::string_view rest = key.substr(begin.size() + 1);
  Reader r(value);
  if (suffix == kTextSuffix && rest.empty()) {
    if (!r.Version() || !r.Text(post_.owner) || !r.Text(post_.title) || !r.Text(post_.uploader) ||
        !r.Text(post_.description) || !r.done()) {
      return Broken("malformed texts record");
    }
    has_text_ = true;
    return Status::Ok();
  }
  if (suffix == kBackerSuffix && !rest.empty()) {
    auto backer = DecodeBacker(value);
    if (!backer.ok()) return Broken(backer.status().message());
    stored_backers_.emplace_back(std::string(rest), *backer);
    return Status::Ok();
  }
  if (suffix == kTotalsSuffix && rest.empty()) {
    Totals t;
    if (!r.Version() || !r.Int(t.funds_version) || !r.Int(t.total_funded) ||
        !r.Int(t.funding_count) || !r.Int(t.participants) || !r.done() || t.funds_version < 1 ||
        t.total_funded < 0 || t.funding_count < 0 || t.participants < 0 ||
        t.participants > t.funding_count || (t.total_funded == 0) != (t.funding_count == 0)) {
      return Broken("malformed totals record");
    }
    totals_ = t;
    return Status::Ok();
  }
  if (suffix == kFundingSuffix && rest.size() == 8) {
    if (mode_ == Mode::kSummary) return Broken("a funding record in a summary read");
    const auto position = static_cast<int64_t>(events::ReadBigEndian64(rest));
    auto decoded = DecodeFunding(value);
    if (!decoded.ok()) return Broken(decoded.status().message());
    FundingRecord& f = *decoded;
    // What fundings change is not in the header: the post's version is the
    // newest of the header's and the fundings' (Finish), and the totals are
    // the live fundings' sums, checked against the totals record.
    funded_.funds_version = std::max(funded_.funds_version, f.version);
    switch (f.fate) {
      case FundingFate::kLive: {
        BackerState& b = post_.backers[f.backer];
        const auto units = CheckedAdd(b.units, f.units);
        const auto amount = CheckedAdd(b.amount, f.amount);
        const auto total = CheckedAdd(funded_.total_funded, f.amount);
        if (!units || !amount || !total) return Broken("live fundings overflow int64");
        b.units = *units;
        b.amount = *amount;
        b.fundings += 1;
        b.live_positions.push_back(position);
        funded_.total_funded = *total;
        funded_.funding_count += 1;
        if (!post_.live_fundings.Append(
                position, LiveFunding{std::move(f.backer), f.units, f.amount, f.version})) {
          return Broken("funding records out of order");
        }
        return Status::Ok();
      }
      case FundingFate::kCancelled:
        post_.cancelled_fundings.emplace_hint(post_.cancelled_fundings.end(), position,
                                              EndedFunding{std::move(f.backer), f.version});
        return Status::Ok();
      case FundingFate::kRefunded:
        post_.refunded_fundings.emplace_hint(post_.refunded_fundings.end(), position,
                                             EndedFunding{std::move(f.backer), f.version});
        return Status::Ok();
    }
    return Broken("unknown funding fate");
  }
  if (suffix == kHeaderSuffix && rest.empty()) {
    int64_t end_days = 0, closes_us = 0, created_us = 0, max = 0;
    uint8_t deleted = 0, model = 0, settlement = 0;
    PostState& p = post_;
    if (!r.Version() || !r.Int(p.header_version) || !r.Int(p.target_amount) ||
        !r.Int(p.funding_unit) || !r.Int(end_days) || !r.Int(closes_us) || !r.Int(created_us) ||
        !r.Int(max) || !r.Byte(deleted) || !r.Byte(model) || !r.Byte(settlement) || !r.done() ||
        deleted > 1 || model > 1 || settlement > 2 || p.header_version < 1 || max < -1 ||
        max == 0 || p.target_amount <= 0 || p.funding_unit <= 0) {
      return Broken("malformed header record");
    }
    p.end_date = CivilDate(std::chrono::sys_days(std::chrono::days(end_days)));
    p.closes_at = FromMicros(closes_us);
    p.created_at = FromMicros(created_us);
    if (max >= 0) p.max_fundings_per_backer = max;
    p.deleted = deleted == 1;
    p.funding_model = static_cast<events::FundingModel>(model);
    if (settlement > 0) p.settlement = static_cast<events::SettlementOutcome>(settlement - 1);
    has_header_ = true;
    return Status::Ok();
  }
  return Broken("an unknown record");
}

Result<PostState> PostDecoder::Finish() {
  if (!has_text_ || !has_header_) return Broken("its texts or header record is missing");
  if (mode_ == Mode::kWhole) {
    // The summary and the backers are stored beside the fundings they sum:
    // both must be what the fundings add up to.
    funded_.participants = static_cast<int64_t>(post_.backers.size());
    const bool funded = funded_.funds_version > 0;
    if (funded != totals_.has_value() || (totals_ && !(*totals_ == funded_))) {
      return Broken("its totals record differs from the sums of its funding records");
    }
    if (stored_backers_.size() != post_.backers.size()) {
      return Broken("its backer records are not the backers of its live fundings");
    }
    for (const auto& [name, stored] : stored_backers_) {
      const auto it = post_.backers.find(name);
      if (it == post_.backers.end() || !(BackerTotal(it->second) == stored)) {
        return Broken("its record of backer \"" + name +
                      "\" differs from the sums of that backer's live fundings");
      }
    }
  } else {
    if (!stored_backers_.empty()) return Broken("a backer record in a summary read");
    if (totals_) funded_ = *totals_;
  }
  post_.funds_version = funded_.funds_version;
  post_.total_funded = funded_.total_funded;
  post_.funding_count = funded_.funding_count;
  post_.participants = funded_.participants;
  post_.ever_funded = funded_.funds_version > 0;
  // What Apply never lets happen: a deletion needs every funding ended, and
  // nothing is funded after it.
  if (post_.deleted && post_.funding_count != 0) {
    return Broken("a deleted post with live fundings");
  }
  post_.id = post_id_;
  post_.version = std::max(post_.funds_version, post_.header_version);
  return std::move(post_);
}

Status StateChanges::Apply(PostState& post, const events::Event& event) {
  const bool was_scheduled = Schedulable(post);
  const Timestamp was_closing = post.closes_at;
  std::vector<int64_t> refunded;  // the positions a refund ends
  if (const auto* r = std::get_if<events::FundingRefunded>(&event.data)) {
    if (const auto it = post.backers.find(r->backer); it != post.backers.end()) {
      refunded.assign(it->second.live_positions.begin(), it->second.live_positions.end());
    }
  }
  LEDGER_RETURN_IF_ERROR(commands::Apply(post, event));
  bool texts = false;
  const int64_t id = event.stream;
  const int64_t version = event.stream_version;
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, events::PostCreated> ||
                      std::is_same_v<T, events::PostEdited>) {
          texts = true;
        } else if constexpr (std::is_same_v<T, events::PostFunded>) {
          Put(FundingKey(id, event.position),
              EncodeFunding(FundingFate::kLive, version, d.backer, d.units, d.amount));
          backers_.emplace_back(id, d.backer);
        } else if constexpr (std::is_same_v<T, events::FundingCancelled>) {
          Put(FundingKey(id, d.funding_position),
              EncodeFunding(FundingFate::kCancelled, version, d.backer, 0, 0));
          backers_.emplace_back(id, d.backer);
        } else if constexpr (std::is_same_v<T, events::FundingRefunded>) {
          for (const int64_t position : refunded) {
            Put(FundingKey(id, position),
                EncodeFunding(FundingFate::kRefunded, version, d.backer, 0, 0));
          }
          backers_.emplace_back(id, d.backer);
        }
      },
      event.data);
  const bool scheduled = Schedulable(post);
  const bool moved = was_closing != post.closes_at;
  if (was_scheduled && (!scheduled || moved)) Delete(ScheduleKey(was_closing, id));
  if (scheduled && (!was_scheduled || moved)) Put(ScheduleKey(post.closes_at, id), "");
  uint8_t parts = ChangesOnlyFundings(event.type()) ? kTotalsPart : kHeaderPart;
  if (texts) parts |= kTextPart;
  touched_.emplace_back(id, parts);
  return Status::Ok();
}

std::vector<int64_t> StateChanges::TouchedPosts() const {
  std::vector<int64_t> ids;
  ids.reserve(touched_.size());
  for (const auto& [id, parts] : touched_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

void StateChanges::Clear() {
  ordered_.clear();
  touched_.clear();
  backers_.clear();
}

void StateChanges::Put(std::string key, std::string value) {
  ordered_.push_back(events::StateWrite{std::move(key), std::move(value)});
}

void StateChanges::Delete(std::string key) {
  ordered_.push_back(events::StateWrite{std::move(key), std::nullopt});
}

}  // namespace ledger::commands::state

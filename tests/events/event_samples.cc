// Writes real events, as the API serves them, for the JSON Schema test
// (schema_test.sh). It runs commands of every kind through a real sequencer
// onto a real RocksDB log, reads the log back, and writes one JSON array per
// event type to OUT_DIR/<TypeName>.json.
//
// Usage: event_samples OUT_DIR
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "commands/sequencer.h"
#include "events/codec.h"
#include "events/rocks_log.h"
#include "support/temp_dir.h"

namespace {

using namespace ledger;

int Fail(const std::string& what) {
  std::fprintf(stderr, "event_samples: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: event_samples OUT_DIR");
  const std::string out_dir = argv[1];
  testing::TempDir dir;
  auto log = events::RocksEventLog::Open(dir.Sub("log"));
  if (!log.ok()) return Fail(log.status().ToString());
  ManualClock clock(*ParseTimestamp("2026-11-21T03:04:05.123456Z"));
  const TimeZone zone = TimeZone::Load("Asia/Seoul").value();
  // Settlements are submitted below at a known point, not by the sequencer
  // on its own when the clock jumps.
  commands::SequencerOptions options;
  options.settle_posts = false;
  auto started = commands::Sequencer::Start(log->get(), &clock, &zone, options);
  if (!started.ok()) return Fail(started.status().ToString());
  commands::Sequencer& s = **started;

  const auto run = [&s](commands::Command c, std::string actor, std::string key) {
    const auto r = s.SubmitAndWait({std::move(c), std::move(actor), "req-sample", std::move(key)});
    if (r.status != commands::CommandStatus::kAccepted) {
      std::fprintf(stderr, "event_samples: a sample command was not accepted: %s %s\n",
                   std::string(commands::ReasonName(r.outcome.rejection.reason)).c_str(),
                   r.outcome.rejection.detail.c_str());
      std::exit(1);
    }
  };

  commands::PostDraft a;
  a.title = "  내 취미 만들기  ";
  a.uploader = "앨리스";
  a.description = "줄바꿈\n과 \"따옴표\"";
  a.target_amount = 1'000'000;
  a.funding_unit = 5'000;
  a.end_date = *ParseDate("2026-12-31");
  commands::PostDraft b = a;
  b.title = "취미를 위한 모임";
  b.description.clear();
  run(commands::CreatePosts{{a, b}, true}, "alice", "create-1");
  run(commands::FundPost{1, 3}, "bob", "fund-1");
  run(commands::FundPost{1, 1}, "carol", "");
  run(commands::FundPost{2, 2}, "bob", "");
  commands::EditPost title_only;
  title_only.post_id = 1;
  title_only.title = "새 제목";
  run(title_only, "alice", "");
  commands::EditPost all_fields;
  all_fields.post_id = 2;
  all_fields.expected_version = 2;
  all_fields.uploader = "Alice Kim";
  all_fields.description = "updated";
  all_fields.funding_unit = 7'000;
  all_fields.end_date = *ParseDate("2027-01-15");
  run(all_fields, "alice", "edit-2");
  run(commands::DeletePost{2, std::nullopt}, "alice", "");
  run(commands::DeletePost{1, std::nullopt}, "alice", "delete-1");
  // A post deleted with no backers at all.
  run(commands::CreatePosts{{b}, false}, "dave", "");
  run(commands::DeletePost{3, std::nullopt}, "dave", "");

  // The lifecycle of schema version 2: an all_or_nothing post (4) with a
  // limit, and a keep_it_all one (5) that reaches its target.
  commands::PostDraft limited = a;
  limited.title = "모두 아니면 없음";
  limited.funding_model = events::FundingModel::kAllOrNothing;
  limited.max_fundings_per_backer = 2;
  commands::PostDraft small = b;
  small.target_amount = 5'000;
  run(commands::CreatePosts{{limited, small}, true}, "erin", "create-2");
  run(commands::FundPost{4, 1}, "bob", "");
  run(commands::FundPost{4, 2}, "bob", "");
  run(commands::FundPost{4, 1}, "carol", "");
  run(commands::FundPost{5, 1}, "carol", "");
  // Bob takes back his first funding of post 4.
  const auto first_of_post_4 = s.FindWholePost(4);
  if (!first_of_post_4 || first_of_post_4->live_fundings.empty()) {
    return Fail("post 4 has no live funding to cancel");
  }
  run(commands::CancelFunding{4, first_of_post_4->live_fundings.Positions().front()}, "bob", "");
  // Both deadlines pass: post 4 fails and refunds, post 5 succeeds.
  clock.Set(*ParseTimestamp("2027-01-01T00:00:00.000000Z"));
  run(commands::SettlePost{4}, std::string(commands::kSystemActor), "");
  run(commands::SettlePost{5}, std::string(commands::kSystemActor), "");
  s.Stop();

  std::vector<events::Event> all;
  if (const Status st = events::ReadEvents(**log, 1, (*log)->Head().position, SIZE_MAX, &all);
      !st.ok()) {
    return Fail(st.ToString());
  }
  std::map<std::string, std::vector<std::string>> by_type;
  for (size_t i = 0; i < events::kEventTypeCount; ++i) {
    by_type[std::string(events::TypeName(static_cast<events::EventType>(i)))];
  }
  for (const events::Event& e : all) {
    by_type[std::string(events::TypeName(e.type()))].push_back(events::EncodeEnvelopeJson(e));
  }
  for (const auto& [type, items] : by_type) {
    std::ofstream out(out_dir + "/" + type + ".json");
    out << "[";
    for (size_t i = 0; i < items.size(); ++i) out << (i == 0 ? "\n" : ",\n") << items[i];
    out << "\n]\n";
    if (!out) return Fail("cannot write " + out_dir + "/" + type + ".json");
    std::printf("%s: %zu events\n", type.c_str(), items.size());
  }
  return 0;
}

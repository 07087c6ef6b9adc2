// The audit subcommands of the real binary (head, events, verify, replay,
// backup) against a data directory that a real `serve` holds: exit codes,
// what they print, and that they work while the service writes; and the
// service's log lines, which lead to their events through `events`.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/time_format.h"
#include "e2e_support.h"
#include "events/codec.h"
#include "events/keys.h"
#include "events/record.h"
#include "events/rocks_log.h"
#include "support/raw_log.h"
#include "support/temp_dir.h"
#include "tool_process.h"

namespace ledger::e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kEndDate[] = "2030-12-31";

std::string PostBody(const std::string& title) {
  return "{\"title\":\"" + title +
         "\",\"uploader\":\"Uploader\",\"description\":\"d\",\"target_amount\":1000000,"
         "\"funding_unit\":1000,\"end_date\":\"" +
         kEndDate + "\"}";
}

std::pair<std::string, std::string> Bearer(const std::string& sub) {
  return {"Authorization", "Bearer " + Token(sub)};
}

int64_t PositionOf(const HttpResponse& r) {
  return std::stoll(r.Header("x-ledger-position").value_or("0"));
}

ToolResult Tool(const std::vector<std::string>& args) {
  return RunTool(FUNDING_LEDGER_BINARY, args);
}

// A server's stderr, one JSON object per line (docs/operations.md, "Logs").
// A line that is not one, with a UTC time, a level, a component and a msg,
// is a failure naming it.
std::vector<rapidjson::Document> LogLines(const std::string& log) {
  std::vector<rapidjson::Document> lines;
  size_t at = 0;
  while (at < log.size()) {
    const size_t end = log.find('\n', at);
    if (end == std::string::npos) {
      ADD_FAILURE() << "a log line without its newline: " << log.substr(at);
      break;
    }
    const std::string line = log.substr(at, end - at);
    at = end + 1;
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str(), line.size());
    const auto text = [&d](const char* key) {
      return d.IsObject() && d.HasMember(key) && d[key].IsString() ? d[key].GetString() : "";
    };
    if (d.HasParseError() || !d.IsObject() || !ParseTimestamp(text("time")) ||
        !ParseLogLevel(text("level")) || std::string(text("component")).empty() ||
        std::string(text("msg")).empty()) {
      ADD_FAILURE() << "not a log line: " << line;
      continue;
    }
    lines.push_back(std::move(d));
  }
  return lines;
}

// The lines of `lines` whose `key` is the string `value`.
std::vector<const rapidjson::Document*> LinesWith(const std::vector<rapidjson::Document>& lines,
                                                  const char* key, const std::string& value) {
  std::vector<const rapidjson::Document*> found;
  for (const rapidjson::Document& d : lines) {
    if (d.HasMember(key) && d[key].IsString() && d[key].GetString() == value) found.push_back(&d);
  }
  return found;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { chmod(dir_.path().c_str(), 0711); }

  std::string data() const { return dir_.Sub("data"); }

  void StartServer(const std::string& data_dir, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--jwt-secret", kSecret});
    server_ = std::make_unique<ServerProcess>(FUNDING_LEDGER_BINARY, data_dir, extra);
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  void StopServer() {
    ASSERT_EQ(server_->Stop(), 0) << server_->Log();
    server_.reset();
  }

  // Creates a post as `owner`; returns its id.
  int64_t Create(const std::string& owner, const std::string& title) {
    const HttpResponse r =
        Call(*server_, "POST", "/api/posts", "/api/posts", PostBody(title), {Bearer(owner)});
    EXPECT_EQ(r.status, 201) << r.body;
    last_position_ = PositionOf(r);
    return Parse(r.body)["id"].GetInt64();
  }
  // Funds post `id` as `backer`; returns the funding's position.
  int64_t Fund(const std::string& backer, int64_t id, int units) {
    const HttpResponse r = Call(*server_, "POST", "/api/posts/" + std::to_string(id) + "/fundings",
                                "/api/posts/{id}/fundings",
                                "{\"units\":" + std::to_string(units) + "}", {Bearer(backer)});
    EXPECT_EQ(r.status, 201) << r.body;
    last_position_ = PositionOf(r);
    return last_position_;
  }
  // Waits until the projector has applied `position` (X-Min-Position).
  void WaitProjected(int64_t position) {
    const HttpResponse r = Call(*server_, "GET", "/api/posts?limit=1", "/api/posts", "",
                                {{"X-Min-Position", std::to_string(position)}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The embedded PostgreSQL of `data_dir`, as the running server has it.
  static std::string Conninfo(const std::string& data_dir) {
    return "host=" + data_dir + "/pg/cluster port=5432 user=postgres dbname=postgres";
  }
  // Every row of a read schema's tables, as text, in key order.
  static std::string DumpSchema(const std::string& data_dir, const std::string& schema) {
    pqxx::connection c(Conninfo(data_dir));
    pqxx::nontransaction tx(c);
    std::string dump;
    for (const std::string& query :
         {"SELECT p::text, s::text FROM " + schema + ".posts p JOIN " + schema +
              ".post_stats s USING (id) ORDER BY id",
          "SELECT b::text FROM " + schema + ".backers b ORDER BY post_id, backer",
          "SELECT position::text, hash FROM " + schema + ".checkpoints ORDER BY name"}) {
      for (const pqxx::row& row : tx.exec(query)) {
        for (const pqxx::field& f : row) dump += std::string(f.c_str()) + "|";
        dump += "\n";
      }
    }
    return dump;
  }

  ledger::testing::TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  int64_t last_position_ = 0;
};

TEST_F(CliTest, EveryCommandPrintsHelpAndRefusesBadUsageWithExitCode2) {
  for (const std::string command :
       {"head", "events", "verify", "replay", "backup", "token", "serve"}) {
    const ToolResult help = Tool({command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command << ": " << help.err;
    EXPECT_EQ(help.out.rfind("usage: funding-ledger " + command, 0), 0u) << help.out;
    const ToolResult bad = Tool({command, "--no-such-flag", "1"});
    EXPECT_EQ(bad.exit_code, 2) << command;
    EXPECT_NE(bad.err.find("no-such-flag"), std::string::npos) << bad.err;
  }
  EXPECT_EQ(Tool({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(Tool({}).exit_code, 2);
  EXPECT_EQ(Tool({"help"}).exit_code, 0);
  const std::string d = data();
  EXPECT_EQ(Tool({"events", "--data-dir", d, "--from", "0"}).exit_code, 2);
  EXPECT_EQ(Tool({"events", "--data-dir", d, "--from", "5", "--to", "4"}).exit_code, 2);
  EXPECT_EQ(Tool({"events", "--data-dir", d, "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(Tool({"events", "--data-dir", d, "--type", "PostStolen"}).exit_code, 2);
  EXPECT_EQ(Tool({"events", "--data-dir", d, "--since", "yesterday"}).exit_code, 2);
  EXPECT_EQ(Tool({"events", "--data-dir", d, "--follow=yes"}).exit_code, 2);
  EXPECT_EQ(Tool({"replay", "--data-dir", d, "--schema", "Bad-Name"}).exit_code, 2);
  EXPECT_EQ(Tool({"replay", "--data-dir", d, "--to-position", "x"}).exit_code, 2);
  EXPECT_EQ(Tool({"verify", "--data-dir", d, "--json", "--json"}).exit_code, 2);
  const ToolResult no_to = Tool({"backup", "--data-dir", d});
  EXPECT_EQ(no_to.exit_code, 2);
  EXPECT_NE(no_to.err.find("--to"), std::string::npos) << no_to.err;
  // No log in the data directory: an I/O problem, not a mismatch.
  for (const std::string command : {"head", "events", "verify", "replay"}) {
    const ToolResult missing = Tool({command, "--data-dir", d});
    EXPECT_EQ(missing.exit_code, 2) << command << ": " << missing.err;
    EXPECT_NE(missing.err.find("no event log"), std::string::npos) << missing.err;
  }
  EXPECT_EQ(Tool({"backup", "--data-dir", d, "--to", dir_.Sub("b")}).exit_code, 2);
}

TEST_F(CliTest, HeadEventsAndVerifyWorkWhileTheServiceRuns) {
  StartServer(data());
  const int64_t first = Create("alice", "취미 하나");
  const int64_t second = Create("alice", "second \\\"quoted\\\"");
  Fund("bob", first, 2);
  Fund("carol", second, 3);
  const int64_t last = Fund("bob", first, 1);

  const ToolResult head = Tool({"head", "--data-dir", data()});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  const HttpResponse served = Call(*server_, "GET", "/api/ledger/head", "/api/ledger/head");
  EXPECT_EQ(head.out, served.body + "\n");
  EXPECT_EQ(Parse(head.out)["position"].GetInt64(), last);

  // NDJSON: exactly the envelopes the API serves.
  const ToolResult all = Tool({"events", "--data-dir", data()});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const HttpResponse feed = Call(*server_, "GET", "/api/events?after=0&limit=100", "/api/events");
  const rapidjson::Document page = Parse(feed.body);
  std::string expected;
  for (const auto& item : page["items"].GetArray()) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    item.Accept(w);
    expected += std::string(b.GetString(), b.GetSize()) + "\n";
  }
  EXPECT_EQ(all.out, expected);

  // Filters: one post, one type, a position range.
  const ToolResult bob =
      Tool({"events", "--data-dir", data(), "--post", std::to_string(first), "--type", "PostFunded",
            "--from", "3", "--to", std::to_string(last)});
  ASSERT_EQ(bob.exit_code, 0) << bob.err;
  std::vector<int64_t> positions;
  for (size_t at = 0; at < bob.out.size();) {
    const size_t nl = bob.out.find('\n', at);
    positions.push_back(Parse(bob.out.substr(at, nl - at))["position"].GetInt64());
    at = nl + 1;
  }
  EXPECT_EQ(positions, (std::vector<int64_t>{3, last}));
  const ToolResult since = Tool({"events", "--data-dir", data(), "--since", "2099-01-01"});
  EXPECT_EQ(since.exit_code, 0);
  EXPECT_EQ(since.out, "");

  // The table: one header and one line per event, text from the log quoted.
  const ToolResult table = Tool({"events", "--data-dir", data(), "--format", "table"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), last + 1);
  EXPECT_NE(table.out.find("취미 하나"), std::string::npos);
  EXPECT_NE(table.out.find("title=\"second \\\"quoted\\\"\""), std::string::npos) << table.out;

  WaitProjected(last);
  const ToolResult text = Tool({"verify", "--data-dir", data()});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("chain ok: " + std::to_string(last) + " events"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("match the log"), std::string::npos) << text.out;
  const ToolResult json = Tool({"verify", "--data-dir", data(), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const rapidjson::Document summary = Parse(json.out);
  EXPECT_TRUE(summary["ok"].GetBool());
  EXPECT_EQ(summary["chain"]["events_checked"].GetInt64(), last);
  EXPECT_EQ(summary["read_tables"]["checkpoint_position"].GetInt64(), last);
  EXPECT_EQ(summary["read_tables"]["mismatch_count"].GetInt64(), 0);
  EXPECT_TRUE(summary["state"]["ok"].GetBool());
  EXPECT_TRUE(summary["state"]["stored"].GetBool());
  EXPECT_EQ(summary["state"]["position"].GetInt64(), last);
  EXPECT_GT(summary["state"]["records_checked"].GetInt64(), 0);
  EXPECT_TRUE(summary["state"]["difference"].IsNull());
}

TEST_F(CliTest, VerifyNamesThePostAndFieldOfATamperedReadRow) {
  StartServer(data());
  Create("alice", "one");
  const int64_t tampered = Create("alice", "two");
  Fund("bob", tampered, 4);  // 4 000
  WaitProjected(last_position_);
  {
    pqxx::connection c(Conninfo(data()));
    pqxx::work tx(c);
    tx.exec_params0("UPDATE ledger_read.post_stats SET total_funded = 5000 WHERE id = $1",
                    tampered);
    tx.commit();
  }
  const ToolResult text = Tool({"verify", "--data-dir", data()});
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  EXPECT_NE(text.out.find("post " + std::to_string(tampered) +
                          " total_funded: expected \"4000\", found \"5000\""),
            std::string::npos)
      << text.out;
  const ToolResult json = Tool({"verify", "--data-dir", data(), "--json"});
  EXPECT_EQ(json.exit_code, 1);
  const rapidjson::Document summary = Parse(json.out);
  EXPECT_FALSE(summary["ok"].GetBool());
  EXPECT_TRUE(summary["chain"]["ok"].GetBool());
  bool named = false;
  for (const auto& m : summary["read_tables"]["mismatches"].GetArray()) {
    named = named || (m["post_id"].GetInt64() == tampered &&
                      std::string(m["field"].GetString()) == "total_funded" &&
                      std::string(m["expected"].GetString()) == "4000" &&
                      std::string(m["found"].GetString()) == "5000");
  }
  EXPECT_TRUE(named) << json.out;
  // The chain alone is still fine.
  EXPECT_EQ(Tool({"verify", "--data-dir", data(), "--chain-only"}).exit_code, 0);
}

TEST_F(CliTest, AFlippedByteInTheLogIsNamedByItsPosition) {
  StartServer(data());
  const int64_t id = Create("alice", "one");
  for (int i = 0; i < 5; ++i) Fund("bob", id, 1);
  const int64_t head = last_position_;
  StopServer();
  // One byte of the stored event at position 3 (inside its JSON) changes.
  ledger::testing::OverwriteRawValue(data() + "/log", events::kEventsFamily, events::PositionKey(3),
                                     [](std::string& value) {
                                       const size_t at = value.find("\"units\":1");
                                       ASSERT_NE(at, std::string::npos);
                                       value[at + 8] = '9';
                                     });
  const ToolResult chain = Tool({"verify", "--data-dir", data(), "--chain-only"});
  EXPECT_EQ(chain.exit_code, 1) << chain.out << chain.err;
  EXPECT_NE(chain.out.find("chain broken: position 3:"), std::string::npos)
      << chain.out << chain.err;
  const ToolResult json = Tool({"verify", "--data-dir", data(), "--json"});
  EXPECT_EQ(json.exit_code, 1) << json.err;
  EXPECT_EQ(Parse(json.out)["chain"]["first_bad_position"].GetInt64(), 3);
  // Reading, replaying and backing up a broken log stop there too.
  const ToolResult events = Tool({"events", "--data-dir", data()});
  EXPECT_EQ(events.exit_code, 1);
  EXPECT_NE(events.err.find("position 3"), std::string::npos) << events.err;
  EXPECT_EQ(std::count(events.out.begin(), events.out.end(), '\n'), 2);  // 1 and 2
  const ToolResult head_of_it = Tool({"head", "--data-dir", data()});
  EXPECT_EQ(head_of_it.exit_code, 1);
  EXPECT_NE(head_of_it.err.find("position 3"), std::string::npos) << head_of_it.err;
  const ToolResult replay = Tool({"replay", "--data-dir", data()});
  EXPECT_EQ(replay.exit_code, 1) << replay.err;
  EXPECT_NE(replay.err.find("position 3"), std::string::npos) << replay.err;
  const ToolResult backup = Tool({"backup", "--data-dir", data(), "--to", dir_.Sub("copy")});
  EXPECT_EQ(backup.exit_code, 1) << backup.err;
  EXPECT_NE(backup.err.find("position 3"), std::string::npos) << backup.err;
  EXPECT_FALSE(fs::exists(dir_.Sub("copy")));
  EXPECT_GT(head, 3);
}

// The sequencer's durable state: a restart takes it up; a state that is
// not at the log's head stops the start, naming the repair, which
// --rebuild-state then makes; verify checks the state against the log.
TEST_F(CliTest, ServeRefusesAStateNotAtTheLogHeadUntilRebuilt) {
  StartServer(data());
  const int64_t id = Create("alice", "one");
  for (int i = 0; i < 4; ++i) Fund("bob", id, 1);
  StopServer();
  StartServer(data());  // taken up as it is
  Fund("carol", id, 2);
  StopServer();
  EXPECT_EQ(Tool({"verify", "--data-dir", data()}).exit_code, 0);

  // The state's head record claims one position less than the log's head.
  ledger::testing::OverwriteRawValue(
      data() + "/log", events::kStateFamily, "mhead",
      [](std::string& value) { value[8] = static_cast<char>(value[8] - 1); });
  const ToolResult refused = Tool({"serve", "--data-dir", data(), "--jwt-secret", kSecret});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("but the log's head is at"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--rebuild-state"), std::string::npos) << refused.err;
  const ToolResult verify = Tool({"verify", "--data-dir", data()});
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_NE((verify.out + verify.err).find("the head record"), std::string::npos)
      << verify.out << verify.err;

  StartServer(data(), {"--rebuild-state"});
  const HttpResponse detail =
      Call(*server_, "GET", "/api/posts/" + std::to_string(id), "/api/posts/{id}", "",
           {{"X-Min-Position", std::to_string(last_position_)}});
  EXPECT_EQ(Parse(detail.body)["total_funded"].GetInt64(), 6 * 1'000) << detail.body;
  Fund("dave", id, 1);
  const int64_t dave = last_position_;
  WaitProjected(dave);
  StopServer();
  EXPECT_EQ(Tool({"verify", "--data-dir", data()}).exit_code, 0);

  // A tampered funding record is named. The read tables' checkpoint is the
  // state's head here, so verify checks both on one fold of the log.
  std::string key = "p";
  events::AppendBigEndian64(&key, static_cast<uint64_t>(id));
  key.push_back('f');
  events::AppendBigEndian64(&key, static_cast<uint64_t>(dave));
  ledger::testing::OverwriteRawValue(data() + "/log", events::kStateFamily, key,
                                     [](std::string& value) { value.back() ^= 1; });
  const ToolResult tampered = Tool({"verify", "--data-dir", data(), "--json"});
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  const rapidjson::Document found = Parse(tampered.out);
  EXPECT_EQ(found["read_tables"]["checkpoint_position"].GetInt64(), dave);
  EXPECT_EQ(found["state"]["position"].GetInt64(), dave);
  EXPECT_FALSE(found["state"]["ok"].GetBool());
  EXPECT_EQ(std::string(found["state"]["difference"].GetString()),
            "post " + std::to_string(id) + "'s funding at position " + std::to_string(dave) +
                ": stored value differs from the log's fold");
}

// An event appended without its state (as an older binary would): the state
// is a true fold of the log, but of a shorter one. Serve refuses it, so
// verify must not pass it either.
TEST_F(CliTest, VerifyFailsAStateBehindTheLogAsServeRefusesIt) {
  StartServer(data());
  const int64_t id = Create("alice", "one");
  Fund("bob", id, 1);
  WaitProjected(last_position_);
  StopServer();
  {
    auto log = events::RocksEventLog::Open(data() + "/log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    events::Event next = events::ReadEvent(**log, (*log)->Head().position).value();
    next.position += 1;
    next.stream_version += 1;
    next.prev_hash = (*log)->Head().hash;
    const std::string record = events::SealRecord(next, events::EncodeCanonical(next));
    const events::EncodedEvent encoded{next.position,  next.stream, next.stream_version,
                                       next.prev_hash, next.hash,   record};
    ASSERT_TRUE((*log)->Append(std::span(&encoded, 1), {}).ok());
  }
  const ToolResult refused = Tool({"serve", "--data-dir", data(), "--jwt-secret", kSecret});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("it was not written with these events"), std::string::npos)
      << refused.err;
  const ToolResult verify = Tool({"verify", "--data-dir", data(), "--json"});
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  const rapidjson::Document found = Parse(verify.out);
  EXPECT_TRUE(found["chain"]["ok"].GetBool()) << verify.out;
  EXPECT_FALSE(found["state"]["ok"].GetBool()) << verify.out;
  const std::string difference = found["state"]["difference"].GetString();
  EXPECT_NE(difference.find("it was not written with these events"), std::string::npos)
      << difference;
  EXPECT_NE(difference.find("--rebuild-state"), std::string::npos) << difference;
}

TEST_F(CliTest, ReplayToAPositionEqualsTheTablesWhenTheLogHeadWasThere) {
  StartServer(data());
  const int64_t a = Create("alice", "a");
  const int64_t b = Create("alice", "b");
  const int64_t c = Create("carol", "c");
  Fund("bob", a, 2);
  Fund("dave", a, 1);
  Fund("bob", b, 5);
  Fund("alice", c, 3);
  const int64_t n = last_position_;
  WaitProjected(n);
  const std::string at_n = DumpSchema(data(), "ledger_read");

  // History moves on: more fundings, an edit, a delete with refunds.
  Fund("erin", a, 7);
  const HttpResponse edited = Call(*server_, "PATCH", "/api/posts/" + std::to_string(b),
                                   "/api/posts/{id}", "{\"title\":\"b2\"}", {Bearer("alice")});
  ASSERT_EQ(edited.status, 200) << edited.body;
  const HttpResponse deleted = Call(*server_, "DELETE", "/api/posts/" + std::to_string(c),
                                    "/api/posts/{id}", "", {Bearer("carol")});
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  const int64_t m = PositionOf(deleted);
  WaitProjected(m);
  const std::string at_m = DumpSchema(data(), "ledger_read");
  ASSERT_NE(at_n, at_m);

  // Into an audit schema beside the live one.
  const ToolResult replay = Tool({"replay", "--data-dir", data(), "--to-position",
                                  std::to_string(n), "--schema", "audit_at_n"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("to position " + std::to_string(n)), std::string::npos);
  EXPECT_EQ(DumpSchema(data(), "audit_at_n"), at_n);
  const ToolResult check = Tool({"verify", "--data-dir", data(), "--schema", "audit_at_n"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // A dry run leaves the live tables as they are and the built ones to see.
  const ToolResult dry =
      Tool({"replay", "--data-dir", data(), "--to-position", std::to_string(n), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_EQ(DumpSchema(data(), "ledger_read_replay"), at_n);
  EXPECT_EQ(DumpSchema(data(), "ledger_read"), at_m);

  // A full replay of the live schema while the service serves: same tables,
  // the service reads them, and verify agrees.
  const ToolResult full = Tool({"replay", "--data-dir", data()});
  ASSERT_EQ(full.exit_code, 0) << full.out << full.err;
  EXPECT_NE(full.out.find("swapped in as ledger_read"), std::string::npos) << full.out;
  EXPECT_EQ(DumpSchema(data(), "ledger_read"), at_m);
  const HttpResponse detail =
      Call(*server_, "GET", "/api/posts/" + std::to_string(a), "/api/posts/{id}");
  EXPECT_EQ(detail.status, 200);
  EXPECT_EQ(Parse(detail.body)["total_funded"].GetInt64(), 10'000);
  const int64_t after = Fund("bob", b, 1);
  WaitProjected(after);
  EXPECT_EQ(Tool({"verify", "--data-dir", data()}).exit_code, 0);
  EXPECT_EQ(
      Tool({"replay", "--data-dir", data(), "--to-position", std::to_string(after + 1)}).exit_code,
      2);
}

TEST_F(CliTest, EventsFollowSeesWhatTheRunningServiceAppends) {
  StartServer(data());
  const int64_t id = Create("alice", "followed");
  ToolProcess follow(FUNDING_LEDGER_BINARY, {"events", "--data-dir", data(), "--follow"});
  ASSERT_TRUE(follow.ok());
  const auto first = follow.ReadLine(std::chrono::seconds(30));
  ASSERT_TRUE(first) << follow.Err();
  EXPECT_EQ(Parse(*first)["position"].GetInt64(), 1);
  std::vector<int64_t> appended;
  for (int i = 0; i < 3; ++i) appended.push_back(Fund("bob", id, i + 1));
  for (const int64_t position : appended) {
    const auto line = follow.ReadLine(std::chrono::seconds(30));
    ASSERT_TRUE(line) << "no event " << position << " after the head; " << follow.Err();
    const rapidjson::Document event = Parse(*line);
    EXPECT_EQ(event["position"].GetInt64(), position);
    EXPECT_STREQ(event["type"].GetString(), "PostFunded");
  }
  follow.Signal(SIGINT);
  EXPECT_EQ(follow.Wait(std::chrono::seconds(30)), 0) << follow.Err();

  // With --to, following ends by itself once that position is printed.
  const int64_t to = last_position_ + 2;
  ToolProcess bounded(
      FUNDING_LEDGER_BINARY,
      {"events", "--data-dir", data(), "--follow", "--post", std::to_string(id), "--from",
       std::to_string(last_position_ + 1), "--to", std::to_string(to), "--format", "table"});
  ASSERT_TRUE(bounded.ReadLine(std::chrono::seconds(30)));  // the header
  Fund("carol", id, 1);
  Fund("dave", id, 1);
  EXPECT_EQ(bounded.Wait(std::chrono::seconds(30)), 0) << bounded.Err();
  int lines = 0;
  while (bounded.ReadLine(std::chrono::milliseconds(100))) ++lines;
  EXPECT_EQ(lines, 2);
}

// Every line the server writes on stderr is a JSON object; each answered
// request has one access line, and its request id finds its events.
TEST_F(CliTest, ServerLogsAreJsonLinesThatLeadToTheirEvents) {
  StartServer(data());
  const HttpResponse created =
      Call(*server_, "POST", "/api/posts", "/api/posts", PostBody("logged"),
           {Bearer("alice"), {"X-Request-Id", "create-req-1"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t id = Parse(created.body)["id"].GetInt64();
  const std::string fund_path = "/api/posts/" + std::to_string(id) + "/fundings";
  const HttpResponse funded =
      Call(*server_, "POST", fund_path, "/api/posts/{id}/fundings", "{\"units\":2}",
           {Bearer("bob"), {"X-Request-Id", "fund-req-1"}});
  ASSERT_EQ(funded.status, 201) << funded.body;
  EXPECT_EQ(funded.Header("x-request-id"), "fund-req-1");
  const int64_t position = PositionOf(funded);
  const HttpResponse probed =
      Call(*server_, "GET", "/healthz?probe=1", "/healthz", "", {{"X-Request-Id", "probe-req-1"}});
  EXPECT_EQ(probed.status, 200) << probed.body;
  const HttpResponse missing =
      Call(*server_, "GET", "/no/such/route", "unmatched", "", {{"X-Request-Id", "lost-req-1"}});
  EXPECT_EQ(missing.status, 404) << missing.body;
  ASSERT_EQ(server_->Stop(), 0) << server_->Log();
  const std::string log = server_->Log();
  server_.reset();

  const std::vector<rapidjson::Document> lines = LogLines(log);
  EXPECT_EQ(static_cast<size_t>(std::count(log.begin(), log.end(), '\n')), lines.size());
  const std::vector<const rapidjson::Document*> fund = LinesWith(lines, "request_id", "fund-req-1");
  ASSERT_EQ(fund.size(), 1u) << log;
  const rapidjson::Document& access = *fund[0];
  EXPECT_STREQ(access["level"].GetString(), "info");
  EXPECT_STREQ(access["component"].GetString(), "http");
  EXPECT_STREQ(access["msg"].GetString(), "request");
  EXPECT_STREQ(access["method"].GetString(), "POST");
  EXPECT_STREQ(access["route"].GetString(), "/api/posts/{id}/fundings");
  EXPECT_EQ(access["path"].GetString(), fund_path);
  EXPECT_EQ(access["status"].GetInt(), 201);
  ASSERT_TRUE(access["duration_ms"].IsNumber());
  EXPECT_GE(access["duration_ms"].GetDouble(), 0.0);
  // The path goes without its query; an unmatched request is logged too.
  const auto probe = LinesWith(lines, "request_id", "probe-req-1");
  ASSERT_EQ(probe.size(), 1u) << log;
  EXPECT_STREQ((*probe[0])["method"].GetString(), "GET");
  EXPECT_STREQ((*probe[0])["route"].GetString(), "/healthz");
  EXPECT_STREQ((*probe[0])["path"].GetString(), "/healthz");
  EXPECT_EQ((*probe[0])["status"].GetInt(), 200);
  const auto lost = LinesWith(lines, "request_id", "lost-req-1");
  ASSERT_EQ(lost.size(), 1u) << log;
  EXPECT_STREQ((*lost[0])["route"].GetString(), "unmatched");
  EXPECT_STREQ((*lost[0])["path"].GetString(), "/no/such/route");
  EXPECT_EQ((*lost[0])["status"].GetInt(), 404);
  EXPECT_EQ(LinesWith(lines, "msg", "request").size(), 4u) << log;
  // Start and stop are logged by serve.
  EXPECT_EQ(LinesWith(lines, "msg", "serving").size(), 1u) << log;
  const auto stopped = LinesWith(lines, "msg", "stopped");
  ASSERT_EQ(stopped.size(), 1u) << log;
  EXPECT_STREQ((*stopped[0])["component"].GetString(), "serve");
  EXPECT_EQ((*stopped[0])["position"].GetInt64(), position);

  // The request id is the correlation id of exactly that request's events.
  const ToolResult events =
      Tool({"events", "--data-dir", data(), "--correlation-id", "fund-req-1"});
  ASSERT_EQ(events.exit_code, 0) << events.err;
  ASSERT_EQ(std::count(events.out.begin(), events.out.end(), '\n'), 1) << events.out;
  const rapidjson::Document event = Parse(events.out);
  EXPECT_EQ(event["position"].GetInt64(), position);
  EXPECT_STREQ(event["type"].GetString(), "PostFunded");
  EXPECT_EQ(event["stream"].GetString(), events::StreamName(id));
  EXPECT_STREQ(event["correlation_id"].GetString(), "fund-req-1");
  EXPECT_STREQ(event["data"]["backer"].GetString(), "bob");
  EXPECT_EQ(event["data"]["units"].GetInt64(), 2);
  const ToolResult creation = Tool(
      {"events", "--data-dir", data(), "--correlation-id", "create-req-1", "--format", "table"});
  ASSERT_EQ(creation.exit_code, 0) << creation.err;
  EXPECT_EQ(std::count(creation.out.begin(), creation.out.end(), '\n'), 2) << creation.out;
  EXPECT_NE(creation.out.find("PostCreated"), std::string::npos) << creation.out;
  const ToolResult none =
      Tool({"events", "--data-dir", data(), "--correlation-id", "no-such-request"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
  const ToolResult too_long =
      Tool({"events", "--data-dir", data(), "--correlation-id", std::string(129, 'x')});
  EXPECT_EQ(too_long.exit_code, 2);
  EXPECT_NE(too_long.err.find("--correlation-id"), std::string::npos) << too_long.err;
}

// --log-level warn (here from the environment) leaves the access lines out;
// what is written is still JSON lines.
TEST_F(CliTest, LogLevelWarnLeavesTheRequestLinesOut) {
  server_ = std::make_unique<ServerProcess>(
      FUNDING_LEDGER_BINARY, data(), std::vector<std::string>{"--jwt-secret", kSecret},
      std::vector<std::string>{"FUNDING_LEDGER_LOG_LEVEL=warn"});
  ASSERT_TRUE(server_->ok()) << server_->Log();
  Fund("bob", Create("alice", "quiet"), 1);
  EXPECT_EQ(Call(*server_, "GET", "/no/such/route", "unmatched").status, 404);
  ASSERT_EQ(server_->Stop(), 0) << server_->Log();
  const std::string log = server_->Log();
  server_.reset();
  const std::vector<rapidjson::Document> lines = LogLines(log);
  EXPECT_TRUE(LinesWith(lines, "msg", "request").empty()) << log;
  for (const char* below : {"debug", "info"}) {
    EXPECT_TRUE(LinesWith(lines, "level", below).empty()) << log;
  }
}

// A log level or metrics switch that is not one of its words stops serve at
// once, exit code 2, with a message naming the option and its source.
TEST_F(CliTest, ServeRefusesAnUnknownLogLevelOrMetricsSwitch) {
  const ToolResult flag = Tool({"serve", "--data-dir", data(), "--log-level", "loud"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("log-level (flag --log-level): 'loud' is not one of "
                          "debug|info|warn|error"),
            std::string::npos)
      << flag.err;
  const ToolResult metrics = Tool({"serve", "--data-dir", data(), "--metrics", "maybe"});
  EXPECT_EQ(metrics.exit_code, 2);
  EXPECT_NE(metrics.err.find("metrics (flag --metrics): 'maybe' is not one of on|off"),
            std::string::npos)
      << metrics.err;
  ASSERT_EQ(setenv("FUNDING_LEDGER_LOG_LEVEL", "verbose", 1), 0);
  const ToolResult env = Tool({"serve", "--data-dir", data()});
  unsetenv("FUNDING_LEDGER_LOG_LEVEL");
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_NE(env.err.find("environment FUNDING_LEDGER_LOG_LEVEL"), std::string::npos) << env.err;
  // Refused before anything was created.
  EXPECT_FALSE(fs::exists(data()));
}

// Progress is drawn on stderr only when it is a terminal: run once under
// script(1), which gives the tool a pseudo-terminal, and once into files.
TEST_F(CliTest, ProgressIsDrawnOnATerminalOnly) {
  StartServer(data());
  // Enough events for a fold chunk (commands::kFoldChunkEvents, 8 192).
  std::string array = "[";
  for (int i = 0; i < 100; ++i) array += (i > 0 ? "," : "") + PostBody("p" + std::to_string(i));
  array += "]";
  for (int i = 0; i < 83; ++i) {
    const HttpResponse r =
        Call(*server_, "POST", "/api/posts", "/api/posts", array, {Bearer("alice")});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  const std::string command =
      std::string(FUNDING_LEDGER_BINARY) + " replay --dry-run --data-dir " + data();
  const ToolResult on_terminal = RunTool("/usr/bin/script", {"-qec", command, "/dev/null"});
  ASSERT_EQ(on_terminal.exit_code, 0) << on_terminal.out << on_terminal.err;
  EXPECT_NE(on_terminal.out.find("\rreplay fold: 8 192 / 8 300 events"), std::string::npos)
      << on_terminal.out;
  EXPECT_NE(on_terminal.out.find("events/s"), std::string::npos) << on_terminal.out;
  const ToolResult into_files = Tool({"replay", "--dry-run", "--data-dir", data()});
  ASSERT_EQ(into_files.exit_code, 0) << into_files.err;
  EXPECT_EQ(into_files.err.find("replay fold"), std::string::npos) << into_files.err;
  EXPECT_EQ(into_files.err.find('\r'), std::string::npos);
}

TEST_F(CliTest, ABackupTakenUnderWriteLoadRestoresAndVerifies) {
  StartServer(data());
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Create("alice", "post " + std::to_string(i)));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acknowledged{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      const std::string backer = "backer" + std::to_string(w);
      for (size_t i = 0; !stop; ++i) {
        const HttpResponse r = Call(
            *server_, "POST", "/api/posts/" + std::to_string(ids[i % ids.size()]) + "/fundings",
            "/api/posts/{id}/fundings", "{\"units\":1}", {Bearer(backer)});
        if (r.status != 201) continue;
        int64_t seen = acknowledged.load();
        const int64_t p = PositionOf(r);
        while (p > seen && !acknowledged.compare_exchange_weak(seen, p)) {
        }
      }
    });
  }
  std::vector<std::pair<std::string, int64_t>> backups;  // dir, head position
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const int64_t before = acknowledged.load();
    const std::string to = dir_.Sub("backup" + std::to_string(i));
    const ToolResult backup = Tool({"backup", "--data-dir", data(), "--to", to});
    ASSERT_EQ(backup.exit_code, 0) << backup.err;
    const rapidjson::Document printed = Parse(backup.out);
    const int64_t position = printed["position"].GetInt64();
    // Everything acknowledged before the backup began is in it.
    EXPECT_GE(position, before);
    if (!backups.empty()) {
      EXPECT_GE(position, backups.back().second);
    }
    backups.emplace_back(to, position);
  }
  stop = true;
  for (std::thread& t : writers) t.join();
  StopServer();

  // Restore: the copy becomes the log of a new data directory; the read
  // tables are rebuilt from it by the service's projector.
  const auto& [copy, position] = backups.back();
  const std::string restored = dir_.Sub("restored");
  fs::create_directories(restored);
  fs::rename(copy, restored + "/log");
  const ToolResult chain = Tool({"verify", "--data-dir", restored, "--chain-only", "--json"});
  ASSERT_EQ(chain.exit_code, 0) << chain.out << chain.err;
  const rapidjson::Document summary = Parse(chain.out);
  EXPECT_EQ(summary["head"]["position"].GetInt64(), position);
  EXPECT_EQ(summary["chain"]["events_checked"].GetInt64(), position);
  StartServer(restored);
  WaitProjected(position);
  const ToolResult full = Tool({"verify", "--data-dir", restored});
  EXPECT_EQ(full.exit_code, 0) << full.out << full.err;
  StopServer();

  // The other way to the read tables, with no service running: replay
  // creates the embedded cluster and builds them from the restored log.
  const std::string rebuilt = dir_.Sub("rebuilt");
  fs::create_directories(rebuilt);
  fs::rename(backups.front().first, rebuilt + "/log");
  EXPECT_EQ(Tool({"verify", "--data-dir", rebuilt}).exit_code, 2);  // no read tables yet
  const ToolResult replay = Tool({"replay", "--data-dir", rebuilt});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("to position " + std::to_string(backups.front().second)),
            std::string::npos)
      << replay.out;
  const ToolResult again = Tool({"verify", "--data-dir", rebuilt});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

}  // namespace
}  // namespace ledger::e2e

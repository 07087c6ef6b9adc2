#include "common/log.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <unistd.h>

#include "common/time_format.h"

namespace ledger {
namespace {

using Json = rapidjson::Document;

// Every line goes to a temporary file (O_APPEND, as journald and most
// collectors open theirs), read back by Lines().
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/ledger_log_test_XXXXXX";
    fd_ = mkstemp(path);
    ASSERT_GE(fd_, 0);
    unlink(path);
    ASSERT_EQ(fcntl(fd_, F_SETFL, O_APPEND), 0);
    previous_sink_ = SetLogSinkForTest(fd_);
    SetLogLevel(LogLevel::kDebug);
  }
  void TearDown() override {
    SetLogSinkForTest(previous_sink_);
    SetLogLevel(LogLevel::kInfo);
    close(fd_);
  }

  // Everything written so far, whole.
  std::string Text() const {
    std::string text;
    char chunk[65536];
    off_t offset = 0;
    while (true) {
      const ssize_t n = pread(fd_, chunk, sizeof chunk, offset);
      if (n <= 0) break;
      text.append(chunk, static_cast<size_t>(n));
      offset += n;
    }
    return text;
  }

  // Every line, without its newline. The text must end in one.
  std::vector<std::string> Lines() const {
    const std::string text = Text();
    EXPECT_TRUE(text.empty() || text.back() == '\n');
    std::vector<std::string> lines;
    size_t begin = 0;
    while (begin < text.size()) {
      const size_t end = text.find('\n', begin);
      if (end == std::string::npos) break;
      lines.push_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
    return lines;
  }

  // Parses one line as strict JSON with valid UTF-8; a failure names it.
  static Json Parse(const std::string& line) {
    Json doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
    EXPECT_FALSE(doc.HasParseError()) << rapidjson::GetParseError_En(doc.GetParseError()) << " at "
                                      << doc.GetErrorOffset() << " in " << line;
    if (doc.HasParseError()) doc.SetObject();
    EXPECT_TRUE(doc.IsObject()) << line;
    return doc;
  }

  // The only line written, parsed.
  Json OnlyLine() const {
    const std::vector<std::string> lines = Lines();
    EXPECT_EQ(lines.size(), 1u) << Text();
    if (lines.size() != 1) {
      Json empty;
      empty.SetObject();
      return empty;
    }
    return Parse(lines[0]);
  }

  // The string value of `key` in the only line.
  std::string OnlyValue(std::string_view key) const {
    const Json doc = OnlyLine();
    const std::string name(key);
    if (!doc.HasMember(name.c_str()) || !doc[name.c_str()].IsString()) {
      ADD_FAILURE() << "no string " << key << " in " << Text();
      return "";
    }
    return {doc[name.c_str()].GetString(), doc[name.c_str()].GetStringLength()};
  }

  int fd_ = -1;
  int previous_sink_ = -1;
};

TEST(LogLevelTest, ParsesExactlyTheFourNames) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  for (const std::string_view bad : {"", "INFO", "Info", "warning", "fatal", " info", "info\n"}) {
    EXPECT_EQ(ParseLogLevel(bad), std::nullopt) << bad;
  }
  for (const LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(level)), level);
  }
}

TEST_F(LogTest, WritesOneObjectWithTheHeaderFieldsFirst) {
  LEDGER_LOG(LogLevel::kInfo, "http", "request")
      .Str("request_id", "fund-req-1")
      .Int("status", 201)
      .Double("duration_ms", 1.25);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& line = lines[0];
  // {"time":"2026-11-21T01:02:03.456789Z", then the rest in order.
  ASSERT_EQ(line.rfind("{\"time\":\"", 0), 0u) << line;
  EXPECT_EQ(line.substr(9 + 27), R"(","level":"info","component":"http","msg":"request",)"
                                 R"("request_id":"fund-req-1","status":201,"duration_ms":1.25})");
  Parse(line);
}

TEST_F(LogTest, TimeIsUtcWithMicroseconds) {
  using namespace std::chrono;
  const auto before = time_point_cast<microseconds>(system_clock::now());
  LEDGER_LOG(LogLevel::kWarn, "test", "now");
  const auto after = time_point_cast<microseconds>(system_clock::now());
  const std::string time = OnlyValue("time");
  ASSERT_EQ(time.size(), 27u) << time;
  const std::optional<Timestamp> parsed = ParseTimestamp(time);
  ASSERT_TRUE(parsed.has_value()) << time;
  EXPECT_LE(before, *parsed);
  EXPECT_LE(*parsed, after);
}

TEST_F(LogTest, DropsLinesBelowTheMinimumLevelWithoutEvaluatingThem) {
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  int evaluated = 0;
  const auto field = [&evaluated] {
    ++evaluated;
    return std::string("value");
  };
  LEDGER_LOG(LogLevel::kDebug, "test", "dropped").Str("field", field());
  LEDGER_LOG(LogLevel::kInfo, "test", "dropped").Str("field", field());
  LogLine(LogLevel::kInfo, "test", "dropped too").Str("field", "x").Int("n", 1);
  EXPECT_EQ(evaluated, 0);
  EXPECT_EQ(Text(), "");
  LEDGER_LOG(LogLevel::kWarn, "test", "kept").Str("field", field());
  LEDGER_LOG(LogLevel::kError, "test", "kept").Str("field", field());
  EXPECT_EQ(evaluated, 2);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_STREQ(Parse(lines[0])["level"].GetString(), "warn");
  EXPECT_STREQ(Parse(lines[1])["level"].GetString(), "error");
}

TEST_F(LogTest, TheMacroIsOneStatementInAnUnbracedIf) {
  for (const bool log : {false, true}) {
    if (log)
      LEDGER_LOG(LogLevel::kInfo, "test", "taken");
    else
      LEDGER_LOG(LogLevel::kInfo, "test", "not taken");
  }
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_STREQ(Parse(lines[0])["msg"].GetString(), "not taken");
  EXPECT_STREQ(Parse(lines[1])["msg"].GetString(), "taken");
}

TEST_F(LogTest, EscapesQuotesBackslashesAndControlCharacters) {
  constexpr char kValue[] = "a\"b\\c\nd\te\x01\x1f\x7f";
  LEDGER_LOG(LogLevel::kInfo, "test", "m").Str("s", kValue);
  const std::string text = Text();
  EXPECT_NE(text.find(R"("s":"a\"b\\c\u000ad\u0009e\u0001\u001f\u007f")"), std::string::npos)
      << text;
  EXPECT_EQ(OnlyValue("s"), kValue);
}

TEST_F(LogTest, EscapesNulAndC1ControlsAndKeepsOtherUtf8) {
  // U+0000, U+0085 (NEL) and U+009B (CSI, which steers a terminal).
  constexpr char kValue[] = "\x00|\xC2\x85|\xC2\x9B|\xC2\xA0|내 취미|\xF0\x9F\x92\xB0";
  LEDGER_LOG(LogLevel::kInfo, "test", "m").Str("s", std::string_view(kValue, sizeof kValue - 1));
  const std::string text = Text();
  EXPECT_NE(text.find("\"s\":\"\\u0000|\\u0085|\\u009b|\xC2\xA0|내 취미|\xF0\x9F\x92\xB0\""),
            std::string::npos)
      << text;
  OnlyLine();
}

TEST_F(LogTest, ReplacesEachByteOfInvalidUtf8) {
  const std::string kFffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xff", kFffd},
      {"a\xC3", "a" + kFffd},                               // cut short at the end
      {"\xC3(", kFffd + "("},                               // a bad continuation byte
      {"\xC0\xAF", kFffd + kFffd},                          // overlong '/'
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},              // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\x80\xBF", kFffd + kFffd},                          // lone continuation bytes
  };
  for (const auto& [bad, expected] : cases) {
    ASSERT_EQ(ftruncate(fd_, 0), 0);
    LEDGER_LOG(LogLevel::kInfo, "test", bad).Str("s", bad);
    EXPECT_EQ(OnlyValue("s"), expected);
    EXPECT_EQ(OnlyValue("msg"), expected);
  }
}

TEST_F(LogTest, NumbersAreJsonNumbers) {
  LEDGER_LOG(LogLevel::kInfo, "test", "m")
      .Int("min", std::numeric_limits<int64_t>::min())
      .Int("max", std::numeric_limits<int64_t>::max())
      .Double("small", 0.001)
      .Double("ms", 12.345)
      .Double("nan", std::nan(""))
      .Double("inf", std::numeric_limits<double>::infinity());
  const std::string text = Text();
  EXPECT_NE(text.find(R"("min":-9223372036854775808,"max":9223372036854775807,)"
                      R"("small":0.001,"ms":12.345,"nan":null,"inf":null})"),
            std::string::npos)
      << text;
  const Json doc = OnlyLine();
  EXPECT_EQ(doc["min"].GetInt64(), std::numeric_limits<int64_t>::min());
  EXPECT_DOUBLE_EQ(doc["ms"].GetDouble(), 12.345);
  EXPECT_TRUE(doc["nan"].IsNull());
}

TEST_F(LogTest, CutsLongValuesAtACodePoint) {
  std::string korean;
  for (int i = 0; i < 2000; ++i) korean += "가";  // 3 bytes each
  LEDGER_LOG(LogLevel::kInfo, "test", "m").Str("long", korean).Int("after", 7);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  const Json doc = Parse(lines[0]);
  const std::string value(doc["long"].GetString(), doc["long"].GetStringLength());
  EXPECT_LE(value.size() + 2, kLogValueBytesMax);
  EXPECT_GT(value.size() + 2, kLogValueBytesMax - 6);
  EXPECT_EQ(value.substr(value.size() - 3), "…");
  EXPECT_EQ(value.substr(0, 6), "가가");
  EXPECT_EQ(doc["after"].GetInt(), 7);
  EXPECT_FALSE(doc.HasMember("truncated"));
}

TEST_F(LogTest, CutsEscapesWhole) {
  // 1000 control characters escape to 6000 bytes; the cut may not split one.
  LEDGER_LOG(LogLevel::kInfo, "test", "m").Str("s", std::string(1000, '\x01'));
  const std::string value = OnlyValue("s");
  EXPECT_EQ(value.substr(value.size() - 3), "…");
  EXPECT_EQ(value.substr(0, value.size() - 3), std::string(value.size() - 3, '\x01'));
  EXPECT_GE(value.size() - 3, (kLogValueBytesMax - 2 - 3 - 5) / 6);
}

TEST_F(LogTest, ALineNeverExceedsItsLimitAndSaysWhenFieldsWereLeftOut) {
  {
    LogLine line(LogLevel::kInfo, "test", std::string(5000, 'm'));
    for (int i = 0; i < 10; ++i) line.Str("field" + std::to_string(i), std::string(5000, 'x'));
    line.Int("last", 1);
  }
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LE(lines[0].size() + 1, kLogLineBytesMax);
  const Json doc = Parse(lines[0]);
  EXPECT_TRUE(doc["truncated"].GetBool());
  EXPECT_TRUE(doc.HasMember("field0"));
  EXPECT_FALSE(doc.HasMember("field9"));
}

TEST_F(LogTest, AnyBytesGiveOneValidLine) {
  std::mt19937 random(20261121);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 3000);
  constexpr int kLines = 500;
  for (int i = 0; i < kLines; ++i) {
    std::string junk(length(random), '\0');
    for (char& c : junk) c = static_cast<char>(byte(random));
    LEDGER_LOG(LogLevel::kInfo, junk, junk).Str("junk", junk).Str("again", junk.substr(0, 8));
  }
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kLines));
  for (const std::string& line : lines) {
    EXPECT_LE(line.size() + 1, kLogLineBytesMax);
    Parse(line);
  }
}

// A field's argument may itself log: both lines come out whole.
TEST_F(LogTest, ALineBuiltInsideAnotherComesOutWhole) {
  const auto inner = [] {
    LEDGER_LOG(LogLevel::kInfo, "test", "inner").Int("depth", 2);
    return std::string("computed");
  };
  LEDGER_LOG(LogLevel::kInfo, "test", "outer").Str("value", inner()).Int("depth", 1);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u) << Text();
  EXPECT_STREQ(Parse(lines[0])["msg"].GetString(), "inner");
  const Json outer = Parse(lines[1]);
  EXPECT_STREQ(outer["msg"].GetString(), "outer");
  EXPECT_STREQ(outer["value"].GetString(), "computed");
  EXPECT_EQ(outer["depth"].GetInt(), 1);
}

TEST_F(LogTest, LinesOfManyThreadsNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 4000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        // Lengths up to ~1 KiB, so that a torn write would show.
        const std::string padding(static_cast<size_t>((i * 37 + t * 101) % 1000),
                                  static_cast<char>('a' + t));
        LEDGER_LOG(LogLevel::kInfo, "test", "line")
            .Int("thread", t)
            .Int("i", i)
            .Str("padding", padding);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    const Json doc = Parse(line);
    ASSERT_TRUE(doc.HasMember("thread") && doc.HasMember("i") && doc.HasMember("padding")) << line;
    const int t = doc["thread"].GetInt();
    const int i = doc["i"].GetInt();
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    // Each thread's lines arrive whole and in its own order.
    EXPECT_EQ(i, next[static_cast<size_t>(t)]) << line;
    next[static_cast<size_t>(t)] = i + 1;
    const std::string padding(doc["padding"].GetString(), doc["padding"].GetStringLength());
    EXPECT_EQ(padding, std::string(static_cast<size_t>((i * 37 + t * 101) % 1000),
                                   static_cast<char>('a' + t)));
  }
  for (const int n : next) EXPECT_EQ(n, kLinesPerThread);
}

}  // namespace
}  // namespace ledger

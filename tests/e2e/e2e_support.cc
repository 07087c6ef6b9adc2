#include "e2e_support.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include "api/jwt.h"
#include "common/clock.h"

namespace ledger::e2e {

Recorder& Recorder::Get() {
  static Recorder r;
  return r;
}

void Recorder::Add(const std::string& method, const std::string& route, const HttpResponse& r) {
  const char* path = std::getenv("FUNDING_LEDGER_E2E_RESPONSES");
  if (path == nullptr || *path == '\0') return;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("method");
  w.String(method.c_str());
  w.Key("route");
  if (route == "unmatched") {
    w.Null();  // no route template: documented under x-unrouted-responses
  } else {
    w.String(route.c_str());
  }
  w.Key("status");
  w.Int(r.status);
  w.Key("content_type");
  const std::string type = r.Header("content-type").value_or("");
  w.String(type.c_str());
  w.Key("body");
  w.String(r.body.c_str(), static_cast<rapidjson::SizeType>(r.body.size()));
  w.EndObject();
  std::string line(buffer.GetString(), buffer.GetSize());
  line += '\n';
  // Several test processes append to the file at once (ctest -j). An
  // ofstream splits a long line (a /metrics body is tens of KiB) into
  // several write(2) calls, which other processes' lines could then land
  // between; one O_APPEND write of the whole line is not interleaved on a
  // local file system.
  std::lock_guard lock(mu_);
  const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << "cannot open " << path;
  const ssize_t written = write(fd, line.data(), line.size());
  close(fd);
  EXPECT_EQ(written, static_cast<ssize_t>(line.size())) << "short write to " << path;
}

HttpResponse Call(const ServerProcess& server, const std::string& method, const std::string& target,
                  const std::string& route, const std::string& body, Headers headers) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  request.headers = std::move(headers);
  const std::optional<HttpResponse> r = Fetch(server.port(), request);
  EXPECT_TRUE(r.has_value()) << method << " " << target << "\n" << server.Log();
  if (!r) return {};
  Recorder::Get().Add(method, route, *r);
  return *r;
}

std::string Token(const std::string& sub, std::chrono::seconds ttl) {
  api::TokenClaims claims;
  claims.sub = sub;
  claims.name = sub;
  const Timestamp now = SystemClock().Now();
  claims.issued_at = now;
  claims.expires_at = now + ttl;
  return api::MintToken(kSecret, claims);
}

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  EXPECT_FALSE(d.HasParseError()) << body;
  return d;
}

std::string ProblemName(const HttpResponse& r) {
  const rapidjson::Document d = Parse(r.body);
  if (!d.IsObject() || !d.HasMember("type") || !d["type"].IsString()) return "";
  const std::string type = d["type"].GetString();
  const std::string prefix = "urn:funding-ledger:problem:";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

std::optional<std::string> FindLibFaketime() {
  namespace fs = std::filesystem;
  std::vector<fs::path> dirs = {"/usr/lib/faketime", "/usr/local/lib/faketime"};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib", ec)) {
    dirs.push_back(entry.path() / "faketime");  // multiarch: /usr/lib/<triplet>/faketime
  }
  for (const fs::path& dir : dirs) {
    const fs::path lib = dir / "libfaketimeMT.so.1";
    if (fs::exists(lib, ec)) return lib.string();
  }
  return std::nullopt;
}

std::optional<double> MetricSample(const std::string& exposition, const std::string& series) {
  size_t at = 0;
  while (at < exposition.size()) {
    const size_t end = std::min(exposition.find('\n', at), exposition.size());
    const std::string_view line(exposition.data() + at, end - at);
    at = end + 1;
    if (line.size() <= series.size() || !line.starts_with(series) || line[series.size()] != ' ') {
      continue;
    }
    const std::string value(line.substr(series.size() + 1));
    char* parsed_end = nullptr;
    const double v = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::optional<double> ScrapeSample(const ServerProcess& server, const std::string& series) {
  const HttpResponse r = Call(server, "GET", "/metrics", "/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  return MetricSample(r.body, series);
}

std::unique_ptr<projections::EmbeddedPostgres> StartPostgres(const std::string& data_dir,
                                                             bool durable) {
  projections::EmbeddedPostgresOptions options;
  options.data_dir = data_dir;
  options.durable = durable;
  auto started = projections::EmbeddedPostgres::Start(options);
  if (!started.ok()) {
    ADD_FAILURE() << "PostgreSQL did not start in " << data_dir << ": "
                  << started.status().ToString();
    return nullptr;
  }
  return std::move(started).value();
}

}  // namespace ledger::e2e

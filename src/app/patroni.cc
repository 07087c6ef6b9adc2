#include "app/patroni.h"

#include <chrono>
#include <future>
#include <memory>

#include <rapidjson/document.h>

namespace ledger::app {

Result<PatroniLeader> ParsePatroniCluster(std::string_view body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("members") || !d["members"].IsArray()) {
    return Status::InvalidArgument("not a Patroni /cluster answer");
  }
  for (const rapidjson::Value& m : d["members"].GetArray()) {
    if (!m.IsObject() || !m.HasMember("role") || !m["role"].IsString()) continue;
    if (std::string_view(m["role"].GetString()) != "leader") continue;
    const bool running = m.HasMember("state") && m["state"].IsString() &&
                         std::string_view(m["state"].GetString()) == "running";
    if (!running || !m.HasMember("host") || !m["host"].IsString() || !m.HasMember("port") ||
        !m["port"].IsInt64() || !m.HasMember("timeline") || !m["timeline"].IsInt64()) {
      return Status::Unavailable("Patroni's leader is not running yet");
    }
    PatroniLeader leader;
    leader.name = m.HasMember("name") && m["name"].IsString() ? m["name"].GetString() : "";
    leader.host = m["host"].GetString();
    leader.port = m["port"].GetInt64();
    leader.timeline = m["timeline"].GetInt64();
    return leader;
  }
  return Status::Unavailable("Patroni names no leader (a failover may be under way)");
}

Result<PatroniLeader> FindPatroniLeader(http::Forwarder& client,
                                        const std::vector<std::string>& urls) {
  std::string failures;
  for (const std::string& url : urls) {
    http::Request request;
    request.method = "GET";
    request.path = "/cluster";
    request.request_id = "patroni-cluster";
    auto answered = std::make_shared<std::promise<http::Response>>();
    std::future<http::Response> answer = answered->get_future();
    const Result<bool> sent = client.Forward(
        url, std::move(request), "", [answered](http::Response r) { answered->set_value(r); });
    Status failed = Status::Ok();
    if (!sent.ok()) {
      failed = sent.status();
    } else if (!*sent) {
      failed = Status::Unavailable("too many questions to Patroni at once");
    } else {
      const http::Response r = answer.get();  // within the client's deadline
      if (r.status != 200) {
        failed = Status::Unavailable("HTTP " + std::to_string(r.status));
      } else {
        Result<PatroniLeader> leader = ParsePatroniCluster(r.body);
        if (leader.ok()) return leader;
        failed = leader.status();
      }
    }
    failures += (failures.empty() ? "" : "; ") + url + ": " + failed.message();
  }
  return Status::Unavailable("no Patroni member names a running leader (" + failures + ")");
}

Result<std::vector<std::string>> SplitPatroniUrls(std::string_view list) {
  std::vector<std::string> urls;
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view url = list.substr(0, comma);
    if (const auto parsed = http::ParseBaseUrl(url); !parsed.ok()) {
      return Status::InvalidArgument("patroni-url: " + parsed.status().message());
    }
    urls.emplace_back(url);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return urls;
}

}  // namespace ledger::app

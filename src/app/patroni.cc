#include "app/patroni.h"

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <utility>

#include <rapidjson/document.h>

namespace ledger::app {

namespace {

// The member `name` of `object` when it is a string / an integer (FindMember:
// operator[] of a missing member would hand back a shared null value).
const char* StringMember(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : nullptr;
}
std::optional<int64_t> IntMember(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

}  // namespace

Result<PatroniLeader> ParsePatroniCluster(std::string_view body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) {
    return Status::InvalidArgument("not a Patroni /cluster answer");
  }
  const auto members = d.FindMember("members");
  if (members == d.MemberEnd() || !members->value.IsArray()) {
    return Status::InvalidArgument("not a Patroni /cluster answer");
  }
  for (const rapidjson::Value& m : members->value.GetArray()) {
    if (!m.IsObject()) continue;
    const char* role = StringMember(m, "role");
    if (role == nullptr || std::string_view(role) != "leader") continue;
    const char* state = StringMember(m, "state");
    const char* host = StringMember(m, "host");
    const std::optional<int64_t> port = IntMember(m, "port");
    const std::optional<int64_t> timeline = IntMember(m, "timeline");
    if (state == nullptr || std::string_view(state) != "running" || host == nullptr || !port ||
        !timeline) {
      return Status::Unavailable("Patroni's leader is not running yet");
    }
    const char* name = StringMember(m, "name");
    return PatroniLeader{name != nullptr ? name : "", host, *port, *timeline};
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
    const Result<bool> sent =
        client.Forward(url, std::move(request), "",
                       [answered](http::Response r) { answered->set_value(std::move(r)); });
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

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

Status CheckPatroniConfig(std::string_view body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) {
    return Status::InvalidArgument("not a Patroni /config answer");
  }
  const auto on = [&d](const char* name) {
    const auto it = d.FindMember(name);
    return it != d.MemberEnd() && it->value.IsBool() && it->value.GetBool();
  };
  if (!on("synchronous_mode") || !on("synchronous_mode_strict")) {
    return Status::FailedPrecondition(
        "Patroni is not in strict synchronous mode (synchronous_mode and "
        "synchronous_mode_strict must be true): a failover could lose acknowledged writes");
  }
  return Status::Ok();
}

namespace {

// GET `path` of `url` through `client`: the body of a 200.
Result<std::string> Get(http::Forwarder& client, const std::string& url, std::string path) {
  http::Request request;
  request.method = "GET";
  request.path = std::move(path);
  request.request_id = "patroni";
  auto answered = std::make_shared<std::promise<http::Response>>();
  std::future<http::Response> answer = answered->get_future();
  LEDGER_ASSIGN_OR_RETURN(const bool sent,
                          client.Forward(url, std::move(request), "", [answered](http::Response r) {
                            answered->set_value(std::move(r));
                          }));
  if (!sent) return Status::Unavailable("too many questions to Patroni at once");
  http::Response r = answer.get();  // within the client's deadline
  if (r.status != 200) return Status::Unavailable("HTTP " + std::to_string(r.status));
  return std::move(r.body);
}

// The leader `url` names, once its configuration is checked.
Result<PatroniLeader> AskMember(http::Forwarder& client, const std::string& url) {
  LEDGER_ASSIGN_OR_RETURN(const std::string config, Get(client, url, "/config"));
  LEDGER_RETURN_IF_ERROR(CheckPatroniConfig(config));
  LEDGER_ASSIGN_OR_RETURN(const std::string cluster, Get(client, url, "/cluster"));
  return ParsePatroniCluster(cluster);
}

}  // namespace

Result<PatroniLeader> FindPatroniLeader(http::Forwarder& client,
                                        const std::vector<std::string>& urls) {
  std::string failures;
  for (const std::string& url : urls) {
    Result<PatroniLeader> leader = AskMember(client, url);
    if (leader.ok()) return leader;
    // A cluster that is not strict is refused, whichever member says so.
    if (leader.status().code() == Status::Code::kFailedPrecondition) return leader.status();
    failures += (failures.empty() ? "" : "; ") + url + ": " + leader.status().message();
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

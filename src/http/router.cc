#include "http/router.h"

#include <algorithm>

#include "common/check.h"

namespace ledger::http {
namespace {

// The segments of `path` after its leading '/': "/a/b/" is {"a", "b", ""}, so
// a trailing slash is an empty segment that no template without one matches.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

void Router::Add(std::string method, std::string route_template, Handler handler) {
  LEDGER_CHECK(!method.empty(), "a route needs a method");
  LEDGER_CHECK(!route_template.empty() && route_template.front() == '/',
               "a route template starts with '/'");
  LEDGER_CHECK(handler != nullptr, "a route needs a handler");

  auto it = std::find_if(routes_.begin(), routes_.end(),
                         [&](const Route& r) { return r.route_template == route_template; });
  if (it == routes_.end()) {
    Route route;
    route.route_template = route_template;
    for (const std::string_view part : SplitPath(route_template)) {
      Segment segment;
      if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
        segment.text = std::string(part.substr(1, part.size() - 2));
        segment.is_placeholder = true;
        LEDGER_CHECK(!segment.text.empty(), "a placeholder needs a name");
      } else {
        segment.text = std::string(part);
      }
      LEDGER_CHECK(segment.text.find_first_of("{}") == std::string::npos,
                   "a placeholder must be a whole path segment");
      route.segments.push_back(std::move(segment));
    }
    routes_.push_back(std::move(route));
    it = routes_.end() - 1;
  }
  for (const auto& [m, h] : it->handlers) {
    LEDGER_CHECK(m != method, "the same method and route template were added twice");
  }
  it->handlers.emplace_back(std::move(method), std::move(handler));
}

bool Router::Matches(const Route& route, const std::vector<std::string_view>& parts) {
  if (route.segments.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Segment& segment = route.segments[i];
    if (segment.is_placeholder ? parts[i].empty() : parts[i] != segment.text) return false;
  }
  return true;
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].is_placeholder != b.segments[i].is_placeholder) {
      return !a.segments[i].is_placeholder;
    }
  }
  return false;
}

Result<Handler, Problem> Router::Match(Request& request) const {
  if (request.path.empty() || request.path.front() != '/') {
    // "*" or an absolute-form target: no route has those.
    return MakeProblem("not_found", "no such route");
  }
  const std::vector<std::string_view> parts = SplitPath(request.path);
  const Route* best_any = nullptr;  // best route for the path, any method
  const Route* best = nullptr;      // best route for the path and the method
  const Handler* handler = nullptr;
  for (const Route& route : routes_) {
    if (!Matches(route, parts)) continue;
    if (best_any == nullptr || MoreSpecific(route, *best_any)) best_any = &route;
    for (const auto& [method, h] : route.handlers) {
      if (method == request.method && (best == nullptr || MoreSpecific(route, *best))) {
        best = &route;
        handler = &h;
      }
    }
  }
  if (best_any == nullptr) return MakeProblem("not_found", "no such route");

  const Route& chosen = best != nullptr ? *best : *best_any;
  request.route = chosen.route_template;
  request.path_params.clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (chosen.segments[i].is_placeholder) {
      request.path_params.emplace_back(chosen.segments[i].text, std::string(parts[i]));
    }
  }
  if (handler != nullptr) return *handler;

  std::vector<std::string_view> allowed;
  for (const Route& route : routes_) {
    if (!Matches(route, parts)) continue;
    for (const auto& [method, h] : route.handlers) allowed.push_back(method);
  }
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  std::string allow;
  for (const std::string_view method : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += method;
  }
  Problem problem = MakeProblem("method_not_allowed", "the route does not take this method");
  problem.headers.emplace_back("Allow", std::move(allow));
  return problem;
}

}  // namespace ledger::http

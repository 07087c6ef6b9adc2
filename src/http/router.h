#pragma once

// Maps a request's method and path to its Handler through route templates
// such as "/api/posts/{id}/fundings".

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/message.h"
#include "http/problem.h"

namespace ledger::http {

// Built before the server starts and only read afterwards, so Match may run on
// many threads at once.
class Router {
 public:
  // `route_template` is a path whose segments are literals or "{name}"
  // placeholders; a placeholder matches one non-empty path segment, as sent
  // (not percent-decoded). Where two templates match a path, the one with a
  // literal at the first segment where they differ wins.
  // REQUIRES: `method` non-empty; `route_template` starts with '/', every '{'
  // opens a placeholder that is a whole segment with a non-empty name; the
  // pair (method, route_template) is new; `handler` is callable (all checked:
  // routes are code, not input).
  void Add(std::string method, std::string route_template, Handler handler);

  // Finds the handler for `request` and sets request.route (the template) and
  // request.path_params. An unknown path is the not_found problem; a known path
  // with another method is method_not_allowed with an Allow header listing the
  // methods the path has (HEAD is not implied by GET).
  Result<Handler, Problem> Match(Request& request) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the placeholder's name
    bool is_placeholder = false;
  };
  struct Route {
    std::string route_template;
    std::vector<Segment> segments;
    std::vector<std::pair<std::string, Handler>> handlers;  // by method
  };

  static bool Matches(const Route& route, const std::vector<std::string_view>& parts);
  // True when `a` is to be preferred over `b` for a path both match.
  static bool MoreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

}  // namespace ledger::http

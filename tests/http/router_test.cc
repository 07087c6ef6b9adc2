#include "http/router.h"

#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace ledger::http {
namespace {

// A handler that answers with `name`, so a test can tell which route matched.
Handler Named(std::string name) {
  return [name = std::move(name)](const Request&, const Respond& respond) {
    Response r;
    r.body = name;
    respond(std::move(r));
  };
}

Request Make(std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

// The name of the handler `router` picks for the request, or "" for a problem.
std::string Pick(const Router& router, Request& request) {
  auto matched = router.Match(request);
  if (!matched.ok()) return "";
  std::string body;
  matched.value()(request, [&body](Response r) { body = r.body; });
  return body;
}

std::string ProblemName(const Router& router, Request& request) {
  auto matched = router.Match(request);
  if (matched.ok()) return "";
  return matched.error().name;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("GET", "/api/posts", Named("list"));
    router_.Add("POST", "/api/posts", Named("create"));
    router_.Add("GET", "/api/posts/{id}", Named("get"));
    router_.Add("PATCH", "/api/posts/{id}", Named("edit"));
    router_.Add("DELETE", "/api/posts/{id}", Named("delete"));
    router_.Add("POST", "/api/posts/{id}/fundings", Named("fund"));
    router_.Add("GET", "/api/ledger/head", Named("head"));
    router_.Add("GET", "/", Named("root"));
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralRouteAndSetsTemplate) {
  Request r = Make("GET", "/api/posts");
  EXPECT_EQ(Pick(router_, r), "list");
  EXPECT_EQ(r.route, "/api/posts");
  EXPECT_TRUE(r.path_params.empty());
}

TEST_F(RouterTest, PicksHandlerByMethod) {
  Request r = Make("POST", "/api/posts");
  EXPECT_EQ(Pick(router_, r), "create");
}

TEST_F(RouterTest, BindsPlaceholderValuesAsSent) {
  Request r = Make("POST", "/api/posts/42/fundings");
  EXPECT_EQ(Pick(router_, r), "fund");
  EXPECT_EQ(r.route, "/api/posts/{id}/fundings");
  ASSERT_EQ(r.path_params.size(), 1U);
  EXPECT_EQ(r.PathParam("id"), "42");

  Request encoded = Make("GET", "/api/posts/a%2Fb");
  EXPECT_EQ(Pick(router_, encoded), "get");
  EXPECT_EQ(encoded.PathParam("id"), "a%2Fb");
}

TEST_F(RouterTest, BindsEveryPlaceholderInOrder) {
  Router router;
  router.Add("GET", "/a/{x}/b/{y}", Named("xy"));
  Request r = Make("GET", "/a/1/b/2");
  EXPECT_EQ(Pick(router, r), "xy");
  ASSERT_EQ(r.path_params.size(), 2U);
  EXPECT_EQ(r.path_params[0], (std::pair<std::string, std::string>("x", "1")));
  EXPECT_EQ(r.path_params[1], (std::pair<std::string, std::string>("y", "2")));
}

TEST_F(RouterTest, TrailingSlashDoesNotMatch) {
  Request list = Make("GET", "/api/posts/");
  EXPECT_EQ(ProblemName(router_, list), "not_found");
  Request get = Make("GET", "/api/posts/7/");
  EXPECT_EQ(ProblemName(router_, get), "not_found");
}

TEST_F(RouterTest, EmptySegmentDoesNotMatchPlaceholder) {
  Request r = Make("POST", "/api/posts//fundings");
  EXPECT_EQ(ProblemName(router_, r), "not_found");
}

TEST_F(RouterTest, ExtraOrMissingSegmentsDoNotMatch) {
  Request longer = Make("GET", "/api/posts/7/fundings/1");
  EXPECT_EQ(ProblemName(router_, longer), "not_found");
  Request shorter = Make("GET", "/api");
  EXPECT_EQ(ProblemName(router_, shorter), "not_found");
}

TEST_F(RouterTest, UnknownPathIsNotFoundWith404) {
  Request r = Make("GET", "/nope");
  auto matched = router_.Match(r);
  ASSERT_FALSE(matched.ok());
  EXPECT_EQ(matched.error().name, "not_found");
  EXPECT_EQ(matched.error().status, 404);
  EXPECT_TRUE(r.route.empty());
}

TEST_F(RouterTest, PathWithoutLeadingSlashIsNotFound) {
  Request star = Make("OPTIONS", "*");
  EXPECT_EQ(ProblemName(router_, star), "not_found");
  Request absolute = Make("GET", "http://example.com/api/posts");
  EXPECT_EQ(ProblemName(router_, absolute), "not_found");
  Request empty = Make("GET", "");
  EXPECT_EQ(ProblemName(router_, empty), "not_found");
}

TEST_F(RouterTest, OtherMethodIsMethodNotAllowedWithSortedAllow) {
  Request r = Make("PUT", "/api/posts/7");
  auto matched = router_.Match(r);
  ASSERT_FALSE(matched.ok());
  const Problem& p = matched.error();
  EXPECT_EQ(p.name, "method_not_allowed");
  EXPECT_EQ(p.status, 405);
  ASSERT_EQ(p.headers.size(), 1U);
  EXPECT_EQ(p.headers[0].first, "Allow");
  EXPECT_EQ(p.headers[0].second, "DELETE, GET, PATCH");
  EXPECT_EQ(r.route, "/api/posts/{id}");
}

TEST_F(RouterTest, HeadIsNotImpliedByGet) {
  Request r = Make("HEAD", "/api/ledger/head");
  EXPECT_EQ(ProblemName(router_, r), "method_not_allowed");
}

TEST_F(RouterTest, MatchesRoot) {
  Request r = Make("GET", "/");
  EXPECT_EQ(Pick(router_, r), "root");
}

TEST(RouterPrecedenceTest, PrefersLiteralSegmentOverPlaceholder) {
  Router router;
  router.Add("GET", "/api/posts/{id}", Named("get"));
  router.Add("GET", "/api/posts/search", Named("search"));
  Request literal = Make("GET", "/api/posts/search");
  EXPECT_EQ(Pick(router, literal), "search");
  EXPECT_EQ(literal.route, "/api/posts/search");
  Request placeholder = Make("GET", "/api/posts/9");
  EXPECT_EQ(Pick(router, placeholder), "get");
}

TEST(RouterPrecedenceTest, FallsBackToPlaceholderRouteThatHasTheMethod) {
  Router router;
  router.Add("DELETE", "/api/posts/{id}", Named("delete"));
  router.Add("GET", "/api/posts/search", Named("search"));
  Request r = Make("DELETE", "/api/posts/search");
  EXPECT_EQ(Pick(router, r), "delete");
  EXPECT_EQ(r.PathParam("id"), "search");

  Request other = Make("PUT", "/api/posts/search");
  auto matched = router.Match(other);
  ASSERT_FALSE(matched.ok());
  EXPECT_EQ(matched.error().headers.at(0).second, "DELETE, GET");
}

TEST(RouterDeathTest, RejectsMalformedTemplates) {
  EXPECT_DEATH(Router().Add("GET", "api/posts", Named("x")), "starts with '/'");
  EXPECT_DEATH(Router().Add("GET", "/api/{}", Named("x")), "needs a name");
  EXPECT_DEATH(Router().Add("GET", "/api/x{id}", Named("x")), "whole path segment");
  EXPECT_DEATH(Router().Add("GET", "/x", nullptr), "needs a handler");
}

TEST(RouterDeathTest, RejectsDuplicateRoute) {
  Router router;
  router.Add("GET", "/x", Named("x"));
  EXPECT_DEATH(router.Add("GET", "/x", Named("y")), "added twice");
}

}  // namespace
}  // namespace ledger::http

#include "api/web_handlers.h"

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "api/web_assets.h"
#include "http/message.h"
#include "http/router.h"

namespace ledger::api {
namespace {

// Routes `method path` through a router holding the explorer's routes, and
// returns the handler's answer (or the router's problem).
http::Response Route(const std::string& method, const std::string& path,
                     const http::HeaderList& headers = {}) {
  http::Router router;
  AddWebRoutes(router);
  http::Request request;
  request.method = method;
  request.path = path;
  request.headers = headers;
  request.request_id = "req-1";
  const auto matched = router.Match(request);
  if (!matched.ok()) return http::ToResponse(matched.error(), path, request.request_id);
  std::optional<http::Response> answer;
  (*matched)(request, [&answer](http::Response r) { answer = std::move(r); });
  EXPECT_TRUE(answer.has_value()) << "the explorer answers at once";
  return answer.value_or(http::Response{});
}

std::optional<std::string> HeaderOf(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

TEST(WebHandlersTest, RootIsTheIndexPageWithItsSecurityHeaders) {
  const http::Response r = Route("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, FindWebAsset("index.html")->bytes);
  EXPECT_NE(r.body.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_EQ(HeaderOf(r, "Content-Security-Policy"),
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; base-uri 'none'; frame-ancestors 'none'");
  EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(HeaderOf(r, "ETag"), FindWebAsset("index.html")->etag);
}

TEST(WebHandlersTest, FilesUnderUiHaveTheirContentTypes) {
  const http::Response js = Route("GET", "/ui/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, FindWebAsset("app.js")->bytes);
  EXPECT_TRUE(HeaderOf(js, "Content-Security-Policy").has_value());
  const http::Response css = Route("GET", "/ui/style.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
}

TEST(WebHandlersTest, EveryFileIsServedWithAStrongEtagOfItsOwn) {
  ASSERT_FALSE(WebAssets().empty());
  std::string_view previous_name;
  for (const WebAsset& asset : WebAssets()) {
    EXPECT_LT(previous_name, asset.name) << "sorted and unique";
    previous_name = asset.name;
    EXPECT_EQ(asset.etag.size(), 34U) << asset.name;  // 32 hex digits in quotes
    EXPECT_EQ(asset.etag.front(), '"');
    EXPECT_EQ(asset.etag.back(), '"');
    EXPECT_FALSE(asset.content_type.empty()) << asset.name;
    const http::Response r = Route("GET", "/ui/" + std::string(asset.name));
    EXPECT_EQ(r.status, 200) << asset.name;
    EXPECT_EQ(r.body, asset.bytes) << asset.name;
  }
  EXPECT_NE(FindWebAsset("app.js")->etag, FindWebAsset("index.html")->etag);
}

TEST(WebHandlersTest, AMatchingIfNoneMatchIsNotModified) {
  const std::string etag(FindWebAsset("app.js")->etag);
  const http::Response r = Route("GET", "/ui/app.js", {{"if-none-match", etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.content_type.empty()) << "no body";
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(HeaderOf(r, "ETag"), etag);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");

  EXPECT_EQ(Route("GET", "/ui/app.js", {{"if-none-match", "\"other\", W/" + etag}}).status, 304);
  EXPECT_EQ(Route("GET", "/ui/app.js", {{"if-none-match", "*"}}).status, 304);
  EXPECT_EQ(Route("GET", "/ui/app.js", {{"if-none-match", "\"other\""}}).status, 200);
  // Another file's tag is not this file's.
  const std::string index_etag(FindWebAsset("index.html")->etag);
  EXPECT_EQ(Route("GET", "/ui/app.js", {{"if-none-match", index_etag}}).status, 200);
}

TEST(WebHandlersTest, IfNoneMatchListsAreReadLeniently) {
  EXPECT_TRUE(IfNoneMatchHits("\"a\"", "\"a\""));
  EXPECT_TRUE(IfNoneMatchHits(" \"b\" ,\t\"a\" ", "\"a\""));
  EXPECT_TRUE(IfNoneMatchHits("W/\"a\"", "\"a\""));
  EXPECT_TRUE(IfNoneMatchHits(" * ", "\"a\""));
  EXPECT_FALSE(IfNoneMatchHits("", "\"a\""));
  EXPECT_FALSE(IfNoneMatchHits(",,,", "\"a\""));
  EXPECT_FALSE(IfNoneMatchHits("a", "\"a\""));
  EXPECT_FALSE(IfNoneMatchHits("\"a", "\"a\""));
}

TEST(WebHandlersTest, AnUnknownFileIsNotFoundProblem) {
  for (const std::string path : {"/ui/nope.js", "/ui/..%2Fapi", "/ui/%61pp.js", "/ui/APP.JS"}) {
    const http::Response r = Route("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/problem+json") << path;
    EXPECT_NE(r.body.find("urn:funding-ledger:problem:not_found"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Route("GET", "/ui/").status, 404);
  EXPECT_EQ(Route("GET", "/ui/a/b.js").status, 404);
}

TEST(WebHandlersTest, HeadIsRoutedLikeGetAndOtherMethodsAreNotAllowed) {
  const http::Response head = Route("HEAD", "/");
  EXPECT_EQ(head.status, 200);  // the server sends its headers and no body
  EXPECT_EQ(head.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Route("HEAD", "/ui/app.js").status, 200);
  const http::Response post = Route("POST", "/");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(HeaderOf(post, "Allow"), "GET, HEAD");
}

}  // namespace
}  // namespace ledger::api

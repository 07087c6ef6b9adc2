#include "api/routes.h"

#include "api/ops_handlers.h"
#include "api/read_handlers.h"
#include "api/stream_handlers.h"
#include "api/web_handlers.h"
#include "api/write_handlers.h"

namespace ledger::api {

void AddApiRoutes(const ApiContext* context, http::Router& router) {
  const ApiContext& c = *context;
  const auto bind =
      [&c](void (*fn)(const ApiContext&, const http::Request&, const http::Respond&)) {
        return [&c, fn](const http::Request& request, const http::Respond& respond) {
          fn(c, request, respond);
        };
      };
  router.Add("POST", "/api/posts", bind(CreatePosts));
  router.Add("GET", "/api/posts", bind(ListPosts));
  router.Add("GET", "/api/posts/{id}", bind(GetPost));
  router.Add("PATCH", "/api/posts/{id}", bind(EditPost));
  router.Add("DELETE", "/api/posts/{id}", bind(DeletePost));
  router.Add("POST", "/api/posts/{id}/fundings", bind(FundPost));
  router.Add("DELETE", "/api/posts/{id}/fundings/{position}", bind(CancelFunding));
  router.Add("GET", "/api/posts/{id}/events", bind(PostEvents));
  router.Add("GET", "/api/posts/{id}/backers", bind(PostBackers));
  router.Add("GET", "/api/me/fundings", bind(MyFundings));
  router.Add("GET", "/api/events", bind(GlobalEvents));
  router.Add("GET", "/api/ledger/head", bind(Head));
  if (c.streams != nullptr) {
    router.Add("GET", "/api/events/stream", bind(EventsStream));
    router.Add("GET", "/api/posts/{id}/stream", bind(PostStream));
  }
  router.Add("GET", "/healthz", bind(Healthz));
  router.Add("GET", "/readyz", bind(Ready));
  router.Add("GET", "/openapi.json", bind(OpenApi));
  if (c.http_metrics != nullptr) router.Add("GET", "/metrics", bind(Metrics));
  AddWebRoutes(router);
}

}  // namespace ledger::api

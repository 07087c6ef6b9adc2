#include "api/write_handlers.h"

#include <string>
#include <utility>
#include <variant>

#include "api/answers.h"
#include "api/json_body.h"
#include "api/jwt.h"
#include "api/request_parts.h"
#include "api/write_answers.h"

namespace ledger::api {

using http::Problem;
using http::Request;
using http::Respond;

namespace {

// The caller's verified token (401 unauthorized when there is none).
Result<TokenClaims, Problem> Authenticate(const ApiContext& c, const Request& request) {
  return c.tokens->Verify(request.Header("authorization"), c.jwt_secret, c.clock->Now());
}

// "2.5", "10": a rate as people write it.
std::string FormatRate(double per_second) {
  std::string text = std::to_string(per_second);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// The 503 of a node that does not sequence: it names the node that does,
// when one is known, so that a client or proxy can send the write there.
http::Response NotTheSequencer(const ApiContext& c, const Request& request) {
  const LeaderInfo leader = c.sequencers->leader();
  std::string detail = "node " + c.node_id + " does not sequence writes: ";
  detail += leader.node_id.empty()
                ? "no node holds the sequencer lease right now"
                : "node " + leader.node_id + " at " + leader.url +
                      " holds the sequencer lease (epoch " + std::to_string(leader.epoch) + ")";
  Problem problem = RetryLater("unavailable", std::move(detail));
  if (!leader.url.empty()) problem.headers.emplace_back("X-Ledger-Leader", leader.url);
  return ProblemAnswer(request, problem);
}

// A write this node cannot sequence goes to the node that can, once: a
// request that was forwarded already is answered here (503), so requests
// never circle between nodes that disagree on who leads.
void PassOn(const ApiContext& c, const Request& request, const Respond& respond) {
  const LeaderInfo leader = c.sequencers->leader();
  if (c.forwarder == nullptr || leader.url.empty() ||
      request.Header(http::kForwardedByHeader).has_value()) {
    respond(NotTheSequencer(c, request));
    return;
  }
  const Result<bool> forwarded = c.forwarder->Forward(leader.url, request, c.node_id, respond);
  if (forwarded.ok() && *forwarded) return;
  if (forwarded.ok()) {
    respond(ProblemAnswer(request, RetryLater("overloaded",
                                              "too many writes are being passed "
                                              "on to the sequencing node")));
    return;
  }
  respond(NotTheSequencer(c, request));
}

void Submit(const ApiContext& c, const Request& request, Respond respond, commands::Command command,
            std::string actor, std::string idempotency_key, WriteKind kind) {
  WriteRequest w{request.path, request.request_id, 0, false, {}};
  if (const auto* create = std::get_if<commands::CreatePosts>(&command)) {
    w.posts_created = create->posts.size();
    w.create_array = create->as_array;
  }
  std::shared_ptr<commands::Sequencer> sequencer = c.sequencers->Get();
  if (sequencer == nullptr) {
    PassOn(c, request, respond);
    return;
  }
  if (c.write_limiter != nullptr) {
    const RateDecision decision = c.write_limiter->Take(actor, c.clock->Now());
    w.rate_fields = c.write_limiter->Fields(decision);
    if (!decision.allowed) {
      Problem problem = http::MakeProblem(
          "too_many_requests",
          "this user may write " + std::to_string(c.write_limiter->limits().burst) +
              " times at once and then at most " +
              FormatRate(c.write_limiter->limits().per_second) + " times a second; retry in " +
              std::to_string(decision.retry_after_s) + " s");
      problem.headers = std::move(w.rate_fields);
      respond(ProblemAnswer(request, problem));
      return;
    }
  }
  commands::Submission submission{std::move(command), std::move(actor), request.request_id,
                                  std::move(idempotency_key)};
  const ApiContext* context = &c;
  commands::Sequencer* deciding = sequencer.get();
  // The answer holds the sequencer that decided (its posts are copied into
  // it) even if this node stops sequencing meanwhile. The completion thread
  // never drops the last reference: whoever replaces a sequencer holds one
  // until its Stop() has joined that thread.
  deciding->Submit(std::move(submission), [context, sequencer = std::move(sequencer),
                                           w = std::move(w), kind, respond = std::move(respond)](
                                              commands::CommandResult result) mutable {
    // The completion thread answers every writer of a batch in turn. An
    // answer that may read (a created or edited post copied from the
    // sequencer, a replayed funding read back from the log) is built on the
    // answer pool; one built from the result alone (a new funding, a
    // rejection, a 204) is built here, a thread hop less on the most common
    // write (docs/performance.md, issue 18).
    if (!AnswerMayRead(kind, result)) {
      respond(WriteAnswer(*context, *sequencer, w, kind, result));
      return;
    }
    auto answer = [context, sequencer, w, kind, respond, result = std::move(result)] {
      respond(WriteAnswer(*context, *sequencer, w, kind, result));
    };
    if (!context->answers->TrySubmit(answer)) answer();
  });
}

}  // namespace

void CreatePosts(const ApiContext& c, const Request& request, const Respond& respond) {
  if (Refused(CheckContentType(request, false), request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  auto key = ParseIdempotencyKey(request.Header("idempotency-key"));
  if (Refused(key, request, respond)) return;
  auto parsed = ParseCreateBody(request.body);
  if (Refused(parsed, request, respond)) return;
  Submit(c, request, respond, std::move(parsed).value(), claims->sub,
         std::move(key).value().value_or(""), WriteKind::kCreate);
}

void EditPost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  if (Refused(CheckContentType(request, false), request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  const auto expected = ParseIfMatch(request.Header("if-match"));
  if (Refused(expected, request, respond)) return;
  auto parsed = ParseEditBody(request.body);
  if (Refused(parsed, request, respond)) return;
  commands::EditPost edit = std::move(parsed).value();
  edit.post_id = *id;
  edit.expected_version = *expected;
  Submit(c, request, respond, std::move(edit), claims->sub, "", WriteKind::kEdit);
}

void DeletePost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  const auto expected = ParseIfMatch(request.Header("if-match"));
  if (Refused(expected, request, respond)) return;
  commands::DeletePost del;
  del.post_id = *id;
  del.expected_version = *expected;
  Submit(c, request, respond, del, claims->sub, "", WriteKind::kDelete);
}

void CancelFunding(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto position = FundingPosition(request);
  if (Refused(position, request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  commands::CancelFunding cancel;
  cancel.post_id = *id;
  cancel.funding_position = *position;
  Submit(c, request, respond, cancel, claims->sub, "", WriteKind::kCancel);
}

void FundPost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  if (Refused(CheckContentType(request, true), request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  auto key = ParseIdempotencyKey(request.Header("idempotency-key"));
  if (Refused(key, request, respond)) return;
  auto parsed = ParseFundBody(request.body);
  if (Refused(parsed, request, respond)) return;
  commands::FundPost fund = std::move(parsed).value();
  fund.post_id = *id;
  Submit(c, request, respond, fund, claims->sub, std::move(key).value().value_or(""),
         WriteKind::kFund);
}

}  // namespace ledger::api

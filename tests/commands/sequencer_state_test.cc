// The sequencer's durable state (issue 15): a restart takes it up instead of
// folding the log, and it is always exactly what a fold of the log builds.
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "commands/fold.h"
#include "commands/state_check.h"
#include "commands/state_codec.h"
#include "events/codec.h"
#include "events/record.h"
#include "sequencer_fixture.h"

namespace ledger::commands {
namespace {

using testing::Create;
using testing::Draft;
using testing::Fund;

class SequencerStateTest : public testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    StartSequencer(log_.get(), Options());
  }

  SequencerOptions Options() const {
    SequencerOptions o;
    o.state_cache_bytes = cache_bytes_;
    o.settlement_poll = std::chrono::milliseconds(1);
    return o;
  }

  // Runs `count` random commands over a few posts and backers: creations of
  // both funding models, fundings, cancellations of earlier fundings (some
  // by someone else), edits (the deadline too), deletions, and time passing
  // so that posts settle. Rejections are part of the mix.
  void RunRandomCommands(uint32_t seed, int count) {
    std::mt19937 rng(seed);
    const auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    const std::vector<std::string> people = {"alice", "bob", "carol", "dave", "erin", "프랭크"};
    std::vector<std::pair<int64_t, int64_t>> fundings;  // (post, position)
    int64_t posts = 0;
    for (int i = 0; i < count; ++i) {
      const std::string actor = people[static_cast<size_t>(pick(6))];
      const int64_t post = posts == 0 ? 0 : 1 + pick(static_cast<int>(posts));
      const int op = posts == 0 ? 0 : pick(20);
      CommandResult r;
      r.status = CommandStatus::kRejected;  // when nothing is submitted this round
      if (op == 0) {
        PostDraft d = Draft("캠페인 " + std::to_string(i));
        d.target_amount = 1'000 * (1 + pick(8));
        d.end_date = *ParseDate(pick(2) == 0 ? "2026-11-22" : "2026-11-25");
        if (pick(2) == 0) d.funding_model = events::FundingModel::kAllOrNothing;
        if (pick(3) == 0) d.max_fundings_per_backer = 1 + pick(2);
        r = Run(Submission{CreatePosts{{d}, false}, actor, "req", ""});
        if (r.status == CommandStatus::kAccepted) ++posts;
      } else if (op <= 11) {
        r = Run(Fund(post, actor, 1 + pick(3)));
        if (r.status == CommandStatus::kAccepted) {
          fundings.emplace_back(post, r.outcome.first_position);
        }
      } else if (op <= 14 && !fundings.empty()) {
        const auto [p, position] =
            fundings[static_cast<size_t>(pick(static_cast<int>(fundings.size())))];
        r = Run(Submission{CancelFunding{p, position}, actor, "req", ""});
      } else if (op == 15) {
        EditPost e;
        e.post_id = post;
        e.title = "고친 제목 " + std::to_string(i);
        if (pick(2) == 0) e.end_date = *ParseDate(pick(2) == 0 ? "2026-11-23" : "2026-11-26");
        r = Run(Submission{e, actor, "req", ""});
      } else if (op == 16) {
        r = Run(Submission{DeletePost{post, std::nullopt}, actor, "req", ""});
      } else if (op == 17) {
        clock_.Advance(std::chrono::hours(7));  // deadlines pass; the sequencer settles
      }
      ASSERT_NE(r.status, CommandStatus::kUnavailable) << r.error.ToString();
    }
  }

  // Random commands submitted `group` at a time without waiting, so that
  // batches mix fundings, cancellations, deletions and settlements of the
  // same posts: what a post read in part, or whole mid-batch, must get right.
  void RunRandomGroups(uint32_t seed, int rounds, int group) {
    std::mt19937 rng(seed);
    const auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    const std::vector<std::string> people = {"alice", "bob", "carol", "dave", "erin", "프랭크"};
    std::vector<std::pair<int64_t, int64_t>> fundings;  // (post, position)
    int64_t posts = 0;
    for (int round = 0; round < rounds; ++round) {
      std::vector<Submission> subs;
      for (int i = 0; i < group; ++i) {
        const std::string actor = people[static_cast<size_t>(pick(6))];
        const int op = posts == 0 ? 0 : pick(20);
        const int64_t post = posts == 0 ? 0 : 1 + pick(static_cast<int>(posts));
        if (op == 0) {
          PostDraft d = Draft("캠페인 " + std::to_string(round));
          d.target_amount = 1'000 * (1 + pick(8));
          d.end_date = *ParseDate(pick(2) == 0 ? "2026-11-22" : "2026-11-25");
          if (pick(2) == 0) d.funding_model = events::FundingModel::kAllOrNothing;
          if (pick(3) == 0) d.max_fundings_per_backer = 1 + pick(2);
          subs.push_back(Submission{CreatePosts{{d}, false}, actor, "req", ""});
        } else if (op <= 12) {
          subs.push_back(Fund(post, actor, 1 + pick(3)));
        } else if (op <= 16 && !fundings.empty()) {
          const auto [p, position] =
              fundings[static_cast<size_t>(pick(static_cast<int>(fundings.size())))];
          subs.push_back(Submission{CancelFunding{p, position}, actor, "req", ""});
        } else if (op == 17) {
          subs.push_back(Submission{DeletePost{post, std::nullopt}, actor, "req", ""});
        }
      }
      if (pick(8) == 0) clock_.Advance(std::chrono::hours(7));
      std::vector<CommandResult> results(subs.size());
      std::atomic<size_t> done{0};
      for (size_t i = 0; i < subs.size(); ++i) {
        sequencer_->Submit(std::move(subs[i]), [&results, &done, i](CommandResult r) {
          results[i] = std::move(r);
          done.fetch_add(1);
          done.notify_all();
        });
      }
      for (size_t seen = done.load(); seen < results.size(); seen = done.load()) done.wait(seen);
      for (const CommandResult& r : results) {
        ASSERT_NE(r.status, CommandStatus::kUnavailable) << r.error.ToString();
        if (r.status != CommandStatus::kAccepted) continue;
        if (r.outcome.post_id == posts + 1) ++posts;
        fundings.emplace_back(r.outcome.post_id, r.outcome.first_position);
      }
    }
  }

  // The stored state, record by record, equals what the fold of the log
  // makes of it, and a restarted sequencer sees every post as the fold does.
  void ExpectStateIsTheFold() {
    sequencer_->Stop();
    auto folded = FoldLog(*log_, log_->Head().position);
    ASSERT_OK(folded);
    auto compared = CompareState(*log_, *folded);
    ASSERT_OK(compared);
    EXPECT_TRUE(compared->stored);
    EXPECT_EQ(compared->difference, std::nullopt) << *compared->difference;
    Restart(Options());
    for (const PostState& post : folded->posts) {
      const std::optional<PostState> seen = sequencer_->FindWholePost(post.id);
      ASSERT_TRUE(seen.has_value()) << post.id;
      EXPECT_EQ(*seen, post) << "post " << post.id;
      EXPECT_EQ(sequencer_->FindPost(post.id), SummaryOf(post)) << "post " << post.id;
    }
    EXPECT_EQ(sequencer_->FindWholePost(static_cast<int64_t>(folded->posts.size()) + 1),
              std::nullopt);
  }

  size_t cache_bytes_ = size_t{128} << 20;
};

TEST_F(SequencerStateTest, RestartEqualsFoldOverRandomCommands) {
  for (const uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    RunRandomCommands(seed, 400);
    ExpectStateIsTheFold();
    clock_.Set(testing::Noon());
  }
}

TEST_F(SequencerStateTest, RestartEqualsFoldWhenBatchesMixCommandsOnOnePost) {
  for (const uint32_t seed : {4u, 5u}) {
    SCOPED_TRACE(seed);
    RunRandomGroups(seed, 120, 12);
    ExpectStateIsTheFold();
    clock_.Set(testing::Noon());
  }
}

// A cache that holds one post at a time: every command on another post reads
// it from the durable state, and nothing is lost or decided on stale state.
TEST_F(SequencerStateTest, TinyCacheEvictsUnderLoadAndStaysExact) {
  cache_bytes_ = 1;
  Restart(Options());
  RunRandomCommands(7, 600);
  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_GT(m.state_cache_evictions, 0u);
  EXPECT_GT(m.state_cache_loads, 0u);
  EXPECT_LE(m.state_cache_posts, 2u);
  ExpectStateIsTheFold();
}

TEST_F(SequencerStateTest, ConcurrentFundingsThroughATinyCache) {
  cache_bytes_ = 1;
  Restart(Options());
  for (int i = 0; i < 8; ++i) Accept(Create("alice"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 100; ++i) {
        const CommandResult r =
            Run(Fund(1 + (i + t) % 8, "backer-" + std::to_string(t) + "-" + std::to_string(i % 7)));
        EXPECT_EQ(r.status, CommandStatus::kAccepted);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int64_t total = 0;
  for (int64_t id = 1; id <= 8; ++id) total += sequencer_->FindWholePost(id)->total_funded;
  EXPECT_EQ(total, 400 * Draft().funding_unit);
  ExpectStateIsTheFold();
}

// A post is read whole only for a deletion or settlement that refunds: a
// deletion refused (a stranger's) or a successful settlement reads its
// summary only, so nobody can make the sequencer read a large post whole by
// asking for what it refuses.
TEST_F(SequencerStateTest, OnlyRefundsReadAPostWhole) {
  Accept(Create("alice"));
  PostDraft reaching = Draft();
  reaching.target_amount = Draft().funding_unit;
  Accept(Submission{CreatePosts{{reaching}, false}, "alice", "req", ""});
  Accept(Fund(1, "bob", 2));
  Accept(Fund(2, "bob", 1));
  EXPECT_EQ(Run(testing::Delete(1, "mallory")).outcome.rejection.reason, RejectReason::kNotOwner);
  EXPECT_EQ(sequencer_->metrics().state_whole_reads, 0u);
  Accept(testing::Delete(1, "alice"));
  EXPECT_EQ(sequencer_->metrics().state_whole_reads, 1u);
  clock_.Advance(std::chrono::hours(24 * 60));  // post 2 closes, reached: settled successful
  while (!sequencer_->FindPost(2)->settled()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(sequencer_->FindPost(2)->settlement, events::SettlementOutcome::kSuccessful);
  EXPECT_EQ(sequencer_->metrics().state_whole_reads, 1u);
  ExpectStateIsTheFold();
}

TEST_F(SequencerStateTest, StartTakesUpTheStateWithoutFolding) {
  Accept(Create("alice"));
  Accept(Fund(1, "bob", 2));
  // A state written by hand at the right head is what a restart uses: the
  // proof that it is read, not folded again.
  sequencer_->Stop();
  PostState post = *sequencer_->FindWholePost(1);
  post.title = "from the durable state";
  const events::StateWrite forged{state::TextKey(1), state::EncodeText(post)};
  ASSERT_OK(log_->WriteState(std::span(&forged, 1), true));
  Restart(Options());
  EXPECT_EQ(sequencer_->FindWholePost(1)->title, "from the durable state");
  // ...and verify's comparison names the forged record.
  sequencer_->Stop();
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);
  auto compared = CompareState(*log_, *folded);
  ASSERT_OK(compared);
  ASSERT_TRUE(compared->difference.has_value());
  EXPECT_EQ(*compared->difference, "post 1's texts: stored value differs from the log's fold");
}

// The version a post's next event gets comes from the state: a stored
// version the log's stream does not end at is refused, and nothing of that
// post is written, rather than a gap put into the chain.
TEST_F(SequencerStateTest, RefusesAPostWhoseStoredVersionIsNotWhereItsStreamEnds) {
  Accept(Create("alice"));
  Accept(Fund(1, "bob", 2));
  sequencer_->Stop();
  PostState post = *sequencer_->FindWholePost(1);
  post.funds_version = 5;
  const events::StateWrite wrong{state::TotalsKey(1), state::EncodeTotals(post)};
  ASSERT_OK(log_->WriteState(std::span(&wrong, 1), true));
  Restart(Options());
  const events::LogHead head = log_->Head();
  const CommandResult refused = sequencer_->SubmitAndWait(Fund(1, "carol", 1));
  EXPECT_EQ(refused.status, CommandStatus::kUnavailable);
  EXPECT_NE(refused.error.message().find("post 1 is at version 5"), std::string::npos)
      << refused.error.ToString();
  EXPECT_EQ(log_->Head(), head);
}

TEST_F(SequencerStateTest, NamesATamperedOrMissingRecord) {
  Accept(Create("alice"));
  const CommandOutcome funded = Accept(Fund(1, "bob", 2));
  sequencer_->Stop();
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);

  const events::StateWrite gone{state::FundingKey(1, funded.first_position), std::nullopt};
  ASSERT_OK(log_->WriteState(std::span(&gone, 1), true));
  auto compared = CompareState(*log_, *folded);
  ASSERT_OK(compared);
  EXPECT_EQ(compared->difference, "post 1's funding at position " +
                                      std::to_string(funded.first_position) +
                                      ": missing from the stored state");

  const events::StateWrite extra{state::ScheduleKey(testing::Noon(), 9), ""};
  const events::StateWrite back{
      state::FundingKey(1, funded.first_position),
      state::EncodeFunding(state::FundingFate::kLive, 2, "bob", 2, 2 * Draft().funding_unit)};
  const std::vector<events::StateWrite> writes = {back, extra};
  ASSERT_OK(log_->WriteState(writes, true));
  compared = CompareState(*log_, *folded);
  ASSERT_OK(compared);
  ASSERT_TRUE(compared->difference.has_value());
  EXPECT_NE(compared->difference->find("the settlement schedule's entry for post 9"),
            std::string::npos)
      << *compared->difference;
}

// Events appended without their state (by an older binary, say): the state
// is no longer the fold of the log, so start refuses it, loudly, until told
// to rebuild it.
TEST_F(SequencerStateTest, RefusesAStateBehindTheLogAndRebuildsOnRequest) {
  Accept(Create("alice"));
  Accept(Fund(1, "bob", 1));
  sequencer_->Stop();
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);
  // Copy the last PostFunded as a new event of the same post.
  events::Event next = ReadEvent(*log_, log_->Head().position).value();
  next.position += 1;
  next.stream_version += 1;
  next.prev_hash = log_->Head().hash;
  const std::string record = events::SealRecord(next, events::EncodeCanonical(next));
  const events::EncodedEvent encoded{next.position,  next.stream, next.stream_version,
                                     next.prev_hash, next.hash,   record};
  ASSERT_OK(log_->Append(std::span(&encoded, 1), {}));
  sequencer_.reset();

  auto refused = Sequencer::Start(log_.get(), &clock_, &zone_, Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("--rebuild-state"), std::string::npos)
      << refused.status().ToString();

  SequencerOptions rebuild = Options();
  rebuild.rebuild_state = true;
  StartSequencer(log_.get(), rebuild);
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 2 * Draft().funding_unit);
  ExpectStateIsTheFold();
}

// A state written in an older layout (layout 1 kept the totals in a header
// rewritten per funding) is not read: the start rebuilds it from the log.
TEST_F(SequencerStateTest, RebuildsAStateOfAnOlderLayout) {
  RunRandomCommands(12, 120);
  sequencer_->Stop();
  std::string head = log_->ReadState(state::HeadKey()).value().value();
  head[0] = 1;
  const events::StateWrite older{state::HeadKey(), head};
  ASSERT_OK(log_->WriteState(std::span(&older, 1), true));
  const auto refused = state::DecodeHead(head);
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("layout 1"), std::string::npos);
  Restart(Options());
  EXPECT_FALSE(state::OlderLayout(log_->ReadState(state::HeadKey()).value().value()));
  ExpectStateIsTheFold();
}

// A log without any state (written before it existed): the first start
// builds it, in bounded memory, and later starts take it up.
TEST_F(SequencerStateTest, BuildsAMissingState) {
  cache_bytes_ = 1;
  Restart(Options());
  RunRandomCommands(11, 300);
  sequencer_->Stop();
  ASSERT_OK(log_->ClearState());
  Restart(Options());
  ExpectStateIsTheFold();
}

}  // namespace
}  // namespace ledger::commands

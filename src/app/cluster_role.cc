#include "app/cluster_role.h"

#include <utility>

#include <pthread.h>

#include "common/log.h"

namespace ledger::app {

ClusterRole::ClusterRole(projections::PgEventLog* log, const Clock* clock,
                         const TimeZone* time_zone, projections::Projector* projector,
                         api::SequencerSlot* slot, ClusterRoleOptions options)
    : log_(log),
      clock_(clock),
      time_zone_(time_zone),
      projector_(projector),
      slot_(slot),
      options_(std::move(options)) {
  projector_->SetStandby(true);
}

ClusterRole::~ClusterRole() { Stop(); }

void ClusterRole::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  // The first try here: a node that finds the lease free sequences before
  // serve says it is serving.
  next_lease_check_ = std::chrono::steady_clock::now() + options_.lease_check;
  TryToLead();
  if (sequencer_ == nullptr) Follow();
  thread_ = std::thread([this] { Run(); });
}

void ClusterRole::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (sequencer_ != nullptr) StepDown(Status::Unavailable("the node is stopping"));
  // Another node takes over at once instead of after the lease's timeout.
  log_->ReleaseLease();
}

void ClusterRole::Run() {
  pthread_setname_np(pthread_self(), "cluster-role");
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (sequencer_ != nullptr) {
      // A failed append ends the lease at once (the log drops its session).
      if (log_->lease_epoch() == 0) {
        StepDown(log_->WriteHealth());
      } else if (now >= next_lease_check_) {
        next_lease_check_ = now + options_.lease_check;
        if (const Status kept = log_->KeepLease(); !kept.ok()) StepDown(kept);
      }
      if (sequencer_ != nullptr && now >= next_replication_check_) {
        next_replication_check_ = now + options_.lease_check;
        CheckReplication();
      }
    }
    if (sequencer_ == nullptr) {
      if (now >= next_lease_check_) {
        next_lease_check_ = now + options_.lease_check;
        TryToLead();
      }
      if (sequencer_ == nullptr) Follow();
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, options_.follow_interval, [this] { return stop_; })) return;
  }
}

void ClusterRole::TryToLead() {
  projections::LeaseServer server;
  if (options_.find_primary) {
    const Result<projections::LeaseServer> found = options_.find_primary();
    if (!found.ok()) {
      // A cluster that could lose acknowledged writes is a configuration
      // error, not a passing state.
      const bool misconfigured = found.status().code() == Status::Code::kFailedPrecondition;
      LEDGER_LOG(misconfigured ? LogLevel::kError : LogLevel::kWarn, "cluster",
                 misconfigured ? "refusing to sequence on the log's cluster"
                               : "cannot find the log's primary")
          .Str("error", found.status().ToString());
      return;
    }
    server = *found;
  }
  const Result<bool> taken = log_->AcquireLease(server);
  if (!taken.ok()) {
    LEDGER_LOG(LogLevel::kWarn, "cluster", "cannot try for the sequencer lease")
        .Str("error", taken.status().ToString());
    return;
  }
  if (!*taken) return;
  commands::SequencerOptions options = options_.sequencer;
  // An operator's --rebuild-state is for the first start only.
  if (takeovers_ > 0) options.rebuild_state = false;
  auto started = commands::Sequencer::Start(log_, clock_, time_zone_, options);
  if (!started.ok()) {
    LEDGER_LOG(LogLevel::kError, "cluster", "took the sequencer lease but cannot sequence")
        .Str("error", started.status().ToString());
    log_->ReleaseLease();
    return;
  }
  sequencer_ = std::shared_ptr<commands::Sequencer>(std::move(started).value());
  const int64_t epoch = log_->lease_epoch();
  slot_->counters.lease_epoch.store(epoch, std::memory_order_relaxed);
  projector_->SetStandby(false);
  slot_->Set(sequencer_, api::LeaderInfo{log_->node_id(), log_->node_url(), epoch});
  ++takeovers_;
  slot_->counters.leases_taken.fetch_add(1, std::memory_order_relaxed);
  LeaderChanged(epoch);
  LEDGER_LOG(LogLevel::kInfo, "cluster", "took the sequencer lease")
      .Str("node", log_->node_id())
      .Int("epoch", epoch)
      .Int("position", log_->Head().position);
}

void ClusterRole::StepDown(const Status& why) {
  std::shared_ptr<commands::Sequencer> held = slot_->Clear(api::LeaderInfo{});
  projector_->SetStandby(true);
  // Commands still queued are refused: the log no longer appends for them.
  sequencer_->Stop();
  sequencer_.reset();
  held.reset();  // writers still answering hold their own references
  slot_->counters.leases_lost.fetch_add(1, std::memory_order_relaxed);
  slot_->counters.sync_standbys.store(-1, std::memory_order_relaxed);
  slot_->counters.standby_lag_bytes.store(-1, std::memory_order_relaxed);
  LEDGER_LOG(LogLevel::kWarn, "cluster", "stopped sequencing")
      .Str("node", log_->node_id())
      .Str("reason", why.ToString());
}

void ClusterRole::Follow() {
  const auto now = std::chrono::steady_clock::now();
  if (const auto head = log_->CatchUp(); !head.ok()) {
    LEDGER_LOG(LogLevel::kDebug, "cluster", "cannot follow the log's head")
        .Str("error", head.status().ToString());
  }
  if (now < next_follow_log_) return;
  next_follow_log_ = now + options_.lease_check;
  const Result<projections::LeaseInfo> lease = log_->ReadLease();
  if (!lease.ok()) return;
  slot_->counters.lease_epoch.store(lease->epoch, std::memory_order_relaxed);
  slot_->SetLeader(api::LeaderInfo{lease->node_id, lease->node_url, lease->epoch});
  LeaderChanged(lease->epoch);
}

void ClusterRole::CheckReplication() {
  const Result<projections::Replication> replication = log_->ReadReplication();
  slot_->counters.sync_standbys.store(replication.ok() ? replication->sync_standbys : -1,
                                      std::memory_order_relaxed);
  slot_->counters.standby_lag_bytes.store(replication.ok() ? replication->max_lag_bytes : -1,
                                          std::memory_order_relaxed);
}

void ClusterRole::LeaderChanged(int64_t epoch) {
  if (epoch == known_epoch_) return;
  known_epoch_ = epoch;
  if (options_.on_leader_change) options_.on_leader_change();
}

}  // namespace ledger::app

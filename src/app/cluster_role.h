#pragma once

// A serve node's part on a cluster (several nodes on one PostgreSQL log):
// the node that holds the log's sequencer lease runs the sequencer and the
// projector; the others follow the log's head and the projector's
// checkpoint, serve reads, and name the holder in the 503 of a write. A
// thread takes the lease when no node holds it, keeps it while held, and
// when it is lost stops the sequencer (its queued commands are refused,
// kUnavailable) and puts the projector on standby. Taking the lease again
// starts a new sequencer from the durable state in the log, so a node never
// decides from a view another node may have moved.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "api/sequencer_slot.h"
#include "commands/sequencer.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "projections/pg_event_log.h"
#include "projections/projector.h"

namespace ledger::app {

struct ClusterRoleOptions {
  commands::SequencerOptions sequencer;
  // How often a node that does not hold the lease tries to take it, and
  // how often the holder checks it (KeepLease speaks only when due).
  std::chrono::milliseconds lease_check{1'000};
  // How often a node that does not sequence reads the log's new head.
  std::chrono::milliseconds follow_interval{50};
  // Where the primary is, asked before every try for the lease (Patroni's
  // REST API); null: any primary libpq connects to, on a timeline no older
  // than one this node wrote to.
  std::function<Result<projections::LeaseServer>()> find_primary;
  // Called on the role's thread when the node that sequences changes (this
  // node took the lease, or another node is seen holding a new epoch), e.g.
  // to give up writes still on their way to the old one. Must not block.
  std::function<void()> on_leader_change;
};

class ClusterRole {
 public:
  // Everything must outlive the role. `projector` is put on standby until
  // the node takes the lease.
  ClusterRole(projections::PgEventLog* log, const Clock* clock, const TimeZone* time_zone,
              projections::Projector* projector, api::SequencerSlot* slot,
              ClusterRoleOptions options);
  ~ClusterRole();
  ClusterRole(const ClusterRole&) = delete;
  ClusterRole& operator=(const ClusterRole&) = delete;

  // Tries for the lease once (a node that gets it sequences when Start
  // returns), then starts the thread.
  void Start();
  // Stops the sequencer (every queued command is answered), releases the
  // lease so that another node takes over at once, joins the thread.
  void Stop();

 private:
  void Run();
  // Takes the lease if it is free, and starts sequencing.
  void TryToLead();
  // Stops sequencing: the lease is lost (`why`) or the node stops.
  void StepDown(const Status& why);
  // Reads the new head and who leads.
  void Follow();
  // Counts the synchronous standbys the log's primary has now.
  void CheckReplication();
  // Tells on_leader_change when `epoch` is not the one last seen.
  void LeaderChanged(int64_t epoch);

  projections::PgEventLog* const log_;
  const Clock* const clock_;
  const TimeZone* const time_zone_;
  projections::Projector* const projector_;
  api::SequencerSlot* const slot_;
  const ClusterRoleOptions options_;

  std::shared_ptr<commands::Sequencer> sequencer_;  // the role thread's
  std::chrono::steady_clock::time_point next_lease_check_{};
  std::chrono::steady_clock::time_point next_follow_log_{};

  int64_t known_epoch_ = 0;  // the epoch last reported, role thread only
  uint64_t takeovers_ = 0;   // role thread only
  std::chrono::steady_clock::time_point next_replication_check_{};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ledger::app

#include "api/key_ring.h"

#include <utility>

namespace ledger::api {

KeyRing::KeyRing(KeyRingOptions options, std::shared_ptr<const JwkSet> keys)
    : options_(std::move(options)), keys_(std::move(keys)) {}

Result<std::unique_ptr<KeyRing>> KeyRing::Open(KeyRingOptions options,
                                               std::vector<std::string>* skipped) {
  LEDGER_ASSIGN_OR_RETURN(JwkSet keys, JwkSet::ReadFile(options.jwks_file, skipped));
  return std::unique_ptr<KeyRing>(
      new KeyRing(std::move(options), std::make_shared<const JwkSet>(std::move(keys))));
}

Status KeyRing::Reload(std::vector<std::string>* skipped) {
  const std::lock_guard reloading(reload_mu_);
  Result<JwkSet> keys = JwkSet::ReadFile(options_.jwks_file, skipped);
  if (!keys.ok()) {
    failed_reloads_.fetch_add(1, std::memory_order_relaxed);
    return keys.status();
  }
  auto fresh = std::make_shared<const JwkSet>(std::move(keys).value());
  {
    const std::lock_guard lock(mu_);
    keys_ = std::move(fresh);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  reloads_.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

KeyRing::Snapshot KeyRing::Current() const {
  const std::lock_guard lock(mu_);
  return Snapshot{keys_, generation_.load(std::memory_order_relaxed)};
}

}  // namespace ledger::api

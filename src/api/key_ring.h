#pragma once

// The identity provider the service trusts besides its own HS256 secret: the
// provider's keys, read from a JWKS file that the operator keeps current
// (docs/operations.md, "Tokens from an identity provider"), and the iss and
// aud its tokens must carry.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/jwk_set.h"
#include "common/result.h"
#include "common/status.h"

namespace ledger::api {

struct KeyRingOptions {
  std::string jwks_file;  // required
  std::string issuer;     // "" : iss is not checked
  std::string audience;   // "" : aud is not checked
};

// Thread-safe. Keys are replaced whole, never edited: a token is judged
// against one set, and a Snapshot stays valid while it is held.
class KeyRing {
 public:
  struct Snapshot {
    std::shared_ptr<const JwkSet> keys;  // never null
    // Grows with every successful Reload: what was verified under an older
    // generation is verified again.
    uint64_t generation = 0;
  };

  // Reads the JWKS file. Errors: JwkSet::ReadFile's; `skipped` (when not
  // null) says which keys of the file were left out and why.
  static Result<std::unique_ptr<KeyRing>> Open(KeyRingOptions options,
                                               std::vector<std::string>* skipped);

  // Reads the file again and swaps its keys in. Errors: JwkSet::ReadFile's,
  // and then the keys in use stay as they were.
  Status Reload(std::vector<std::string>* skipped);

  Snapshot Current() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  const std::string& jwks_file() const { return options_.jwks_file; }
  const std::string& issuer() const { return options_.issuer; }
  const std::string& audience() const { return options_.audience; }

  // Reloads so far, by outcome.
  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  uint64_t failed_reloads() const { return failed_reloads_.load(std::memory_order_relaxed); }

 private:
  KeyRing(KeyRingOptions options, std::shared_ptr<const JwkSet> keys);

  const KeyRingOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const JwkSet> keys_;   // guarded by mu_
  std::atomic<uint64_t> generation_{1};  // written under mu_
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failed_reloads_{0};
  std::mutex reload_mu_;  // one Reload at a time
};

}  // namespace ledger::api

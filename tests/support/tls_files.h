#pragma once

// Self-signed certificates for the TLS tests, made at run time with OpenSSL
// (no key is ever committed): an EC P-256 key and a certificate for
// 127.0.0.1 and localhost, valid over the window the test asks for.

#include <chrono>
#include <string>

namespace ledger::testing {

struct TlsFilePaths {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (unencrypted)
};

// Writes DIR/NAME.crt and DIR/NAME.key: a certificate with subject CN=NAME,
// valid from now + `valid_from` to now + `valid_until` (negative: in the
// past). Aborts the test on an OpenSSL failure.
TlsFilePaths WriteSelfSigned(const std::string& dir, const std::string& name,
                             std::chrono::seconds valid_from = std::chrono::hours(-1),
                             std::chrono::seconds valid_until = std::chrono::hours(24));

}  // namespace ledger::testing

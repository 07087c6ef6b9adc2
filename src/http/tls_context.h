#pragma once

// Internal to src/http: the server's TLS settings, loaded from PEM files and
// checked before they are used. Only the server's own files include this
// header (it brings Asio's SSL headers).

#include <chrono>
#include <memory>
#include <string>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/ssl/context.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "common/result.h"
#include "http/server.h"

namespace ledger::http {

struct LoadedTls {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::chrono::system_clock::time_point not_after;  // the leaf certificate's
};

// A server context for `files`: TLS 1.2 and 1.3 only, the certificate chain
// and its private key, which must match, and a leaf certificate valid at
// `now`. Each failure is InvalidArgument naming the file and what is wrong
// with it (unreadable, not PEM, the key of another certificate, expired on
// DATE, not valid before DATE).
Result<LoadedTls> LoadTlsContext(const TlsFiles& files, std::chrono::system_clock::time_point now);

}  // namespace ledger::http

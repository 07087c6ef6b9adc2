#include "http/tls_context.h"

#include <ctime>
#include <fstream>
#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ledger::http {
namespace {

namespace ssl = boost::asio::ssl;

// OpenSSL's reason for the last failure, or "".
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "";
  char text[256] = {};
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// "2026-12-06 03:00:00 UTC"-like text of an ASN.1 time, as OpenSSL prints it.
std::string TimeText(const ASN1_TIME* time) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  std::string text = "?";
  if (ASN1_TIME_print(bio, time) == 1) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    if (size > 0) text.assign(data, static_cast<size_t>(size));
  }
  BIO_free(bio);
  return text;
}

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

// The private key in the PEM file at `path`; null when there is none, or
// when it is encrypted (no passphrase is ever asked for).
EVP_PKEY* ReadKey(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(
      bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  return key;
}

}  // namespace

Result<LoadedTls> LoadTlsContext(const TlsFiles& files, std::chrono::system_clock::time_point now) {
  if (files.cert_path.empty() || files.key_path.empty()) {
    return Status::InvalidArgument(
        "TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  }
  if (!Readable(files.cert_path)) {
    return Status::InvalidArgument("tls-cert: cannot read " + files.cert_path);
  }
  if (!Readable(files.key_path)) {
    return Status::InvalidArgument("tls-key: cannot read " + files.key_path);
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return Status::Internal("cannot require TLS 1.2: " + OpenSslReason());
  }
  ERR_clear_error();
  boost::system::error_code ec;
  context->use_certificate_chain_file(files.cert_path, ec);
  if (ec) {
    return Status::InvalidArgument("tls-cert: " + files.cert_path +
                                   " is not a PEM certificate chain (" + ec.message() + ")");
  }
  // The key is read here rather than by use_private_key_file, which would
  // ask a terminal for the passphrase of an encrypted key and would report a
  // key of another certificate as unreadable.
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(ReadKey(files.key_path),
                                                                &EVP_PKEY_free);
  if (key == nullptr) {
    return Status::InvalidArgument("tls-key: " + files.key_path +
                                   " is not an unencrypted PEM private key (" + OpenSslReason() +
                                   ")");
  }
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    return Status::InvalidArgument("tls-key: " + files.key_path +
                                   " is not the key of the certificate in " + files.cert_path);
  }
  X509* leaf = SSL_CTX_get0_certificate(native);
  if (leaf == nullptr)
    return Status::InvalidArgument("tls-cert: " + files.cert_path + " holds no certificate");
  time_t at = std::chrono::system_clock::to_time_t(now);
  if (X509_cmp_time(X509_get0_notAfter(leaf), &at) <= 0) {
    return Status::InvalidArgument("tls-cert: the certificate in " + files.cert_path +
                                   " expired on " + TimeText(X509_get0_notAfter(leaf)));
  }
  if (X509_cmp_time(X509_get0_notBefore(leaf), &at) >= 0) {
    return Status::InvalidArgument("tls-cert: the certificate in " + files.cert_path +
                                   " is not valid before " + TimeText(X509_get0_notBefore(leaf)));
  }
  tm expiry{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &expiry) != 1) {
    return Status::InvalidArgument("tls-cert: the certificate in " + files.cert_path +
                                   " has an unreadable expiry");
  }
  ERR_clear_error();
  return LoadedTls{std::move(context), std::chrono::system_clock::from_time_t(timegm(&expiry))};
}

Status CheckTlsFiles(const TlsFiles& files) {
  return LoadTlsContext(files, std::chrono::system_clock::now()).status();
}

}  // namespace ledger::http

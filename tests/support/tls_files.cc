#include "support/tls_files.h"

#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ledger::testing {
namespace {

void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL failed: ") + what);
}

void WritePem(const std::string& path, const std::function<int(FILE*)>& write) {
  FILE* file = std::fopen(path.c_str(), "w");
  Require(file != nullptr, "fopen");
  const int written = write(file);
  std::fclose(file);
  Require(written == 1, "PEM_write");
}

}  // namespace

TlsFilePaths WriteSelfSigned(const std::string& dir, const std::string& name,
                             std::chrono::seconds valid_from, std::chrono::seconds valid_until) {
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                                &EVP_PKEY_free);
  Require(key != nullptr, "EVP_EC_gen");
  const std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  Require(cert != nullptr, "X509_new");
  Require(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  static long serial = 1;
  Require(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++) == 1, "serial");
  Require(X509_gmtime_adj(X509_getm_notBefore(cert.get()), valid_from.count()) != nullptr,
          "notBefore");
  Require(X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_until.count()) != nullptr,
          "notAfter");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  Require(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
                                     0) == 1,
          "CN");
  Require(X509_set_issuer_name(cert.get(), subject) == 1, "issuer");
  Require(X509_set_pubkey(cert.get(), key.get()) == 1, "pubkey");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  Require(san != nullptr, "subjectAltName");
  Require(X509_add_ext(cert.get(), san, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(san);
  Require(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

  TlsFilePaths paths{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  WritePem(paths.cert, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  WritePem(paths.key, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return paths;
}

}  // namespace ledger::testing

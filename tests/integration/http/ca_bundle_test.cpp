// ClientConfig::ca_file (AWS_CA_BUNDLE) reaching libcurl: an HTTPS server with a self-signed
// certificate made here is trusted with that certificate as the bundle, and refused without it
// or with another authority's bundle.

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/c_handle.hpp"
#include "http/client.hpp"
#include "local_server.hpp"
#include "support/temp_dir.hpp"

namespace rsi::http {
namespace {

using namespace std::chrono_literals;

using KeyHandle = CHandle<EVP_PKEY, &EVP_PKEY_free>;
using CertificateHandle = CHandle<X509, &X509_free>;
using BioHandle = CHandle<BIO, &BIO_free_all>;
using ExtensionHandle = CHandle<X509_EXTENSION, &X509_EXTENSION_free>;

void add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  ExtensionHandle extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    throw std::runtime_error("add certificate extension");
  }
}

// A self-signed certificate for 127.0.0.1 and its key, written as PEM files under `dir`.
test::TlsFiles make_self_signed(const test::TempDir& dir, const std::string& name) {
  KeyHandle key(EVP_EC_gen("P-256"));
  CertificateHandle certificate(X509_new());
  if (!key || !certificate) {
    throw std::runtime_error("create key or certificate");
  }
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(certificate.get(), subject);
  X509_set_pubkey(certificate.get(), key.get());
  add_extension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(certificate.get(), NID_subject_alt_name, "IP:127.0.0.1");
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("sign certificate");
  }
  test::TlsFiles files{.certificate = dir.path(name + ".pem").string(),
                       .private_key = dir.path(name + ".key").string()};
  BioHandle certificate_file(BIO_new_file(files.certificate.c_str(), "w"));
  BioHandle key_file(BIO_new_file(files.private_key.c_str(), "w"));
  if (!certificate_file || !key_file ||
      PEM_write_bio_X509(certificate_file.get(), certificate.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    throw std::runtime_error("write certificate or key");
  }
  return files;
}

class CaBundleTest : public ::testing::Test {
protected:
  void SetUp() override {
    m_server.server().Get("/ping", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("pong", "text/plain");
    });
    m_server.start();
  }

  Result<Response> ping(std::string ca_file) {
    ClientConfig config;
    config.retry.max_attempts = 1;
    config.connect_timeout = 2000ms;
    config.timeout = 5000ms;
    config.ca_file = std::move(ca_file);
    RSI_TRY_ASSIGN(auto client, Client::create(std::move(config)));
    return client.request({.url = m_server.url("/ping")});
  }

  test::TempDir m_dir;
  test::TlsFiles m_tls = make_self_signed(m_dir, "server");
  test::LocalServer m_server{m_tls};
};

TEST_F(CaBundleTest, ServerSignedByTheBundleIsTrusted) {
  auto response = ping(m_tls.certificate);

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "pong");
}

TEST_F(CaBundleTest, WithoutTheBundleTheServerIsRefused) {
  auto response = ping("");

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::permanent);
}

TEST_F(CaBundleTest, BundleOfAnotherAuthorityIsRefused) {
  const test::TlsFiles other = make_self_signed(m_dir, "other");

  auto response = ping(other.certificate);

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::permanent);
}

TEST_F(CaBundleTest, MissingBundleFileFailsWithoutRetry) {
  auto response = ping(m_dir.path("missing.pem").string());

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::permanent);
}

} // namespace
} // namespace rsi::http

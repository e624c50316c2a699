#include "common/net/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include <cstring>

#include "common/util/error.h"

namespace cfm::net {
namespace {

// Where a context keeps the address of its key (asio uses the context's app data for itself).
int key_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A session that holds the token's key for TLS 1.3 with kCipherSuite, built as OpenSSL's own s_client and
// s_server build one for `-psk`; OpenSSL takes ownership of it. Null on failure.
SSL_SESSION* key_session(SSL* ssl) {
  static const unsigned char aes_128_gcm_sha256[] = {0x13, 0x01};
  const auto* key = static_cast<const PreSharedKey*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), key_index()));
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, aes_128_gcm_sha256);
  SSL_SESSION* session = SSL_SESSION_new();
  if (key == nullptr || cipher == nullptr || session == nullptr ||
      !SSL_SESSION_set1_master_key(session, key->data(), key->size()) ||
      !SSL_SESSION_set_cipher(session, cipher) ||
      !SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION)) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

// Client: offer the key under kPskIdentity. `digest` is set when a retried hello has fixed the hash
// already; the key (SHA-256) is offered only if it matches.
int offer_key(SSL* ssl, const EVP_MD* digest, const unsigned char** identity, std::size_t* identity_length,
              SSL_SESSION** session) {
  *session = key_session(ssl);
  if (*session == nullptr) return 0;
  if (digest != nullptr && SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(*session)) != digest) {
    SSL_SESSION_free(*session);
    *session = nullptr;
    *identity = nullptr;
    *identity_length = 0;
    return 1;
  }
  *identity = reinterpret_cast<const unsigned char*>(kPskIdentity);
  *identity_length = std::strlen(kPskIdentity);
  return 1;
}

// Coordinator: the key for kPskIdentity, nothing for any other identity (the handshake then fails: there
// is no certificate to fall back on).
int find_key(SSL* ssl, const unsigned char* identity, std::size_t identity_length, SSL_SESSION** session) {
  *session = nullptr;
  if (identity_length != std::strlen(kPskIdentity) ||
      std::memcmp(identity, kPskIdentity, identity_length) != 0)
    return 1;
  *session = key_session(ssl);
  return *session != nullptr ? 1 : 0;
}

// OpenSSL's own words for a failure, without the library name newer Boost releases append.
std::string openssl_reason(const boost::system::error_code& error) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);  // once per process; the texts are OpenSSL's
  const char* reason = ERR_reason_error_string(static_cast<unsigned long>(error.value()));
  return reason != nullptr ? reason : error.message();
}

}  // namespace

PreSharedKey pre_shared_key(const std::string& token) {
  PreSharedKey key{};
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
            reinterpret_cast<const unsigned char*>(kPskLabel), std::strlen(kPskLabel), key.data(), &size) ||
      size != key.size())
    throw Error("OpenSSL HMAC-SHA256 failed");
  return key;
}

TlsContext::TlsContext(TlsRole role, const std::string& token)
    : key_(pre_shared_key(token)),
      context_(role == TlsRole::Client ? boost::asio::ssl::context::tls_client
                                       : boost::asio::ssl::context::tls_server) {
  SSL_CTX* ctx = context_.native_handle();
  if (key_index() < 0 || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_set_ciphersuites(ctx, kCipherSuite) ||
      !SSL_CTX_set_num_tickets(ctx, 0) || !SSL_CTX_set_ex_data(ctx, key_index(), &key_))
    throw Error("OpenSSL could not set up TLS 1.3 with " + std::string(kCipherSuite));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (role == TlsRole::Client) {
    SSL_CTX_set_psk_use_session_callback(ctx, offer_key);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);  // no trusted certificate: every one is refused
  } else {
    SSL_CTX_set_psk_find_session_callback(ctx, find_key);
  }
}

TlsContext::~TlsContext() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::optional<std::string> refused_record(const boost::system::error_code& error) {
  if (error.category() != boost::asio::error::get_ssl_category() ||
      ERR_GET_REASON(static_cast<unsigned long>(error.value())) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return std::nullopt;
  return openssl_reason(error);
}

HandshakeProblem explain_handshake_failure(const boost::system::error_code& error) {
  const bool from_openssl = error.category() == boost::asio::error::get_ssl_category();
  const int reason = from_openssl ? ERR_GET_REASON(static_cast<unsigned long>(error.value())) : 0;
  if (error == boost::asio::ssl::error::stream_truncated || error == boost::asio::error::eof ||
      reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return {"left during the TLS handshake", true};
  if (!from_openssl) return {"broke off the TLS handshake (" + error.message() + ")", true};
  switch (reason) {
    case SSL_R_BINDER_DOES_NOT_VERIFY:         // the coordinator's view: the client's key differs
    case SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER:  // the client's view: OpenSSL 3.0 says so in this alert
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:      // ... and the RFC in this one
      return {"does not know this token (wrong token file?)"};
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:  // a record longer than TLS allows: OpenSSL 3.0 ...
    case SSL_R_DATA_LENGTH_TOO_LONG:    // ... and 3.5
    case SSL_R_HTTP_REQUEST:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return {"does not speak TLS 1.3 (" + openssl_reason(error) +
              "): not cfm, or a cfm older than protocol version 3 (run the same cfm release on every node)"};
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return {
          "answered with a certificate instead of the token's key: not a cfm coordinator, or someone in "
          "between"};
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return {std::string("offered no TLS 1.3 key named '") + kPskIdentity + "' with " + kCipherSuite +
              " (not a cfm peer?)"};
    default:
      return {"failed the TLS handshake (" + openssl_reason(error) + ")", true};
  }
}

}  // namespace cfm::net

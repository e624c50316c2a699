// TLS 1.3 on every connection to the coordinator (docs/architecture.md §5), keyed by the cluster's shared
// token as an external pre-shared key: identity "cfm", key = HMAC-SHA256(key = token, "cfm tls psk v1").
// There are no certificates: a peer that completes the handshake has shown that it holds the token, in
// both directions, and every record after it is encrypted and authenticated (AES-128-GCM), so whoever
// sits on the path can neither read nor alter, inject or replay anything. The key exchange also runs
// ephemeral X25519 (psk_dhe_ke): a token that leaks later does not open recorded traffic.
//
//   net::TlsContext tls(net::TlsRole::Client, token);
//   boost::asio::ssl::stream<tcp::socket> stream(io, tls.native());
//   stream.handshake(boost::asio::ssl::stream_base::client);
#pragma once

#include <array>
#include <boost/asio/ssl.hpp>
#include <optional>
#include <string>

namespace cfm::net {

constexpr const char* kPskIdentity = "cfm";
constexpr const char* kPskLabel = "cfm tls psk v1";
constexpr const char* kCipherSuite = "TLS_AES_128_GCM_SHA256";

using PreSharedKey = std::array<unsigned char, 32>;

// HMAC-SHA256 of kPskLabel under the token (as read from the token file).
PreSharedKey pre_shared_key(const std::string& token);

enum class TlsRole { Coordinator, Client };

// An OpenSSL context for one side: TLS 1.3 only, kCipherSuite only, the token's key only, no session
// tickets. A client refuses any certificate, and TLS 1.3 has no key exchange without either, so a finished
// handshake was keyed by the token.
// Neither copied nor moved: OpenSSL's key callbacks find the key through the context.
class TlsContext {
 public:
  TlsContext(TlsRole role, const std::string& token);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  boost::asio::ssl::context& native() { return context_; }

 private:
  PreSharedKey key_;
  boost::asio::ssl::context context_;
};

// OpenSSL's reason when it ended an established session over a record it refused (altered on the path,
// forged, garbage); nothing when the session ended otherwise (the peer left).
std::optional<std::string> refused_record(const boost::system::error_code& error);

// A failed handshake, said the way a user can act on it.
struct HandshakeProblem {
  std::string reason;           // "does not know this token (wrong token file?)", ...
  bool worth_retrying = false;  // the connection broke; a wrong token, a wrong peer stay wrong
};
HandshakeProblem explain_handshake_failure(const boost::system::error_code& error);

}  // namespace cfm::net

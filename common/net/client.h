// A blocking request/reply connection to the coordinator over TLS keyed by the shared token (tls.h), used
// by workers, `cfm submit`, `cfm status` and `cfm launch slurm`. Every operation has a deadline, so a hung or
// vanished coordinator surfaces as a ConnectionError instead of a stuck process.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/util/error.h"

namespace cfm::net {

// The coordinator could not be reached, or the connection broke or timed out (retrying may help).
class ConnectionError : public Error {
 public:
  using Error::Error;
};

// The coordinator could not serve a request now (its database was locked) and changed nothing.
class RetryLater : public Error {
 public:
  RetryLater(const std::string& reason, double after) : Error(reason), seconds(after) {}
  double seconds;
};

// How long a request is re-sent while the coordinator answers "retry later".
constexpr std::chrono::seconds kBusyPatience{900};

struct Endpoint {
  std::string host;
  unsigned short port = 0;
};

// "host:port" (host may be a name, an IPv4 address or a bracketed IPv6 address).
Endpoint parse_endpoint(const std::string& text);

class Client {
 public:
  // Connects, runs the TLS handshake (which fails unless both sides hold the same token) and says hello.
  // A wrong token, a peer that does not speak this protocol or a certificate in place of the token's key
  // throws ProtocolError; an unreachable, silent or vanished coordinator throws ConnectionError.
  Client(const Endpoint& endpoint, const std::string& token, const std::string& name,
         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one message and returns the reply; a reply of type "error" throws ProtocolError with its reason.
  // A "retry later" reply (the coordinator's database is locked) is waited out and the message sent
  // again, for up to kBusyPatience.
  nlohmann::json request(const nlohmann::json& message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cfm::net

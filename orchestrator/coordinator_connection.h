// One connection to the coordinator (docs/architecture.md §5): the TLS handshake keyed by the shared token,
// then `hello`, then request/reply until the peer leaves, breaks the protocol or stays silent past its
// deadline. Until hello has arrived the connection counts as anonymous: it must finish within the
// handshake limit and its frames stay small. A peer that breaks the protocol gets a short error reply
// where TLS allows one, a log line, and a closed connection; nothing it sends reaches the host.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cfm {

class CoordinatorConnection : public std::enable_shared_from_this<CoordinatorConnection> {
 public:
  // What a connection asks of the coordinator that accepted it.
  class Host {
   public:
    virtual ~Host() = default;
    // The reply to a request of an authenticated peer (`peer`: "name@address:port" for log lines). Throws
    // net::ProtocolError or nlohmann::json::exception for a request that breaks the protocol.
    virtual nlohmann::json respond(const nlohmann::json& request, const std::string& peer) = 0;
    // The connection is no longer anonymous: it said hello, or it closed.
    virtual void left_anonymity(std::uint64_t id) = 0;
  };

  struct Limits {
    double handshake_seconds = 5;  // from accept to hello
    double idle_seconds = 300;     // between requests, once authenticated
  };

  CoordinatorConnection(Host& host, boost::asio::ssl::context& tls, boost::asio::ip::tcp::socket socket,
                        std::uint64_t id, Limits limits);

  std::uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  void start();
  void close();  // at once, without a reply

 private:
  enum class Stage { Tls, Hello, Ready, Closed };

  void arm_deadline(double limit);
  void deadline_passed();
  void refuse_plain_frames();
  void handshake();
  void read_frame();
  void read_more();
  std::uint32_t frame_limit() const;
  bool take_frame();
  void dispatch();
  nlohmann::json respond(const nlohmann::json& message);
  void send(const nlohmann::json& reply, bool close_after);
  void reject(const std::string& reason);
  void closed(const boost::system::error_code& error);
  std::string who() const;

  Host& host_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  boost::asio::steady_timer deadline_;
  Limits limits_;
  double deadline_limit_ = 0;
  std::uint64_t id_;
  unsigned char first_byte_ = 0;
  std::vector<char> inbox_;  // bytes received and not yet taken as a frame
  std::string body_, peer_, name_;
  Stage stage_ = Stage::Tls;
};

}  // namespace cfm

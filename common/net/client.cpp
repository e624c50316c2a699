#include "net/client.h"

#include <boost/asio.hpp>

#include "net/auth.h"
#include "net/frame.h"
#include "net/message_fields.h"
#include "net/protocol_error.h"
#include "util/excerpt.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace cfm::net {

Endpoint parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw UsageError("'" + text + "' is not HOST:PORT");
  Endpoint e;
  e.host = text.substr(0, colon);
  if (e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) > 65535)
    throw UsageError("'" + text + "': '" + port + "' is not a port number");
  e.port = static_cast<unsigned short>(std::stoi(port));
  return e;
}

struct Client::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  std::chrono::milliseconds timeout;
  std::string where;

  // Runs the queued asynchronous operation until it completes or the deadline passes.
  void run(const char* what) {
    io.restart();
    io.run_for(timeout);
    if (!io.stopped()) {
      boost::system::error_code ignored;
      socket.close(ignored);
      io.run();  // let the cancelled handler finish
      throw ConnectionError(std::string(what) + " " + where + " timed out");
    }
  }

  void check(const boost::system::error_code& error, const char* what) {
    if (error) throw ConnectionError(std::string(what) + " " + where + ": " + error.message());
  }

  void send(const nlohmann::json& message) {
    std::string frame = encode_frame(message);
    boost::system::error_code error;
    asio::async_write(socket, asio::buffer(frame), [&](auto e, std::size_t) { error = e; });
    run("sending to");
    check(error, "sending to");
  }

  nlohmann::json receive() {
    std::array<unsigned char, 4> header{};
    boost::system::error_code error;
    asio::async_read(socket, asio::buffer(header), [&](auto e, std::size_t) { error = e; });
    run("waiting for");
    check(error, "reading from");
    std::string body(frame_body_size(header), '\0');
    asio::async_read(socket, asio::buffer(body), [&](auto e, std::size_t) { error = e; });
    run("waiting for");
    check(error, "reading from");
    nlohmann::json reply = decode_body(body);
    if (reply["type"] == "error") throw ProtocolError("coordinator " + where + " refused: " + optional_string_field(reply, "reason", 4096, "?"));
    return reply;
  }
};

Client::Client(const Endpoint& endpoint, const std::string& token, const std::string& name, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  impl_->where = "at " + endpoint.host + ":" + std::to_string(endpoint.port);
  boost::system::error_code error;
  tcp::resolver resolver(impl_->io);
  auto targets = resolver.resolve(endpoint.host, std::to_string(endpoint.port), error);
  impl_->check(error, "resolving");
  asio::async_connect(impl_->socket, targets, [&](auto e, const auto&) { error = e; });
  impl_->run("connecting to");
  impl_->check(error, "connecting to");
  std::string client_nonce = random_nonce();
  impl_->send({{"type", "hello"}, {"name", name}, {"nonce", client_nonce}});
  nlohmann::json challenge = impl_->receive();
  if (challenge["type"] != "challenge")
    throw ProtocolError("coordinator " + impl_->where + " sent '" + excerpt(challenge["type"].get<std::string>()) + "' instead of a challenge");
  std::string server_nonce = string_field(challenge, "nonce", kNonceChars), proof = string_field(challenge, "proof", 64);
  if (!is_nonce(server_nonce) || server_nonce == client_nonce) throw ProtocolError("coordinator " + impl_->where + " sent an invalid nonce");
  if (!proof_matches(token, Role::Coordinator, client_nonce, server_nonce, proof))
    throw ProtocolError("coordinator " + impl_->where + " does not know the shared token (wrong token file?)");
  impl_->send({{"type", "auth"}, {"proof", handshake_proof(token, Role::Client, client_nonce, server_nonce)}});
  impl_->receive();  // "welcome", or an error reply thrown as ProtocolError
}

Client::~Client() = default;

nlohmann::json Client::request(const nlohmann::json& message) {
  impl_->send(message);
  return impl_->receive();
}

}  // namespace cfm::net

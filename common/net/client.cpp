#include "common/net/client.h"

#include <boost/asio.hpp>
#include <thread>

#include "common/net/frame.h"
#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/net/tls.h"
#include "common/util/excerpt.h"

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
  Impl(const std::string& token, std::chrono::milliseconds limit)
      : tls(TlsRole::Client, token), timeout(limit) {}

  asio::io_context io;
  TlsContext tls;
  asio::ssl::stream<tcp::socket> stream{io, tls.native()};
  std::chrono::milliseconds timeout;
  std::string where;

  // Runs the queued asynchronous operation until it completes or the deadline passes.
  void run(const char* what) {
    io.restart();
    io.run_for(timeout);
    if (!io.stopped()) {
      boost::system::error_code ignored;
      stream.lowest_layer().close(ignored);
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
    asio::async_write(stream, asio::buffer(frame), [&](auto e, std::size_t) { error = e; });
    run("sending to");
    check(error, "sending to");
  }

  nlohmann::json receive() {
    std::array<unsigned char, 4> header{};
    boost::system::error_code error;
    asio::async_read(stream, asio::buffer(header), [&](auto e, std::size_t) { error = e; });
    run("waiting for");
    check(error, "reading from");
    std::string body(frame_body_size(header), '\0');
    asio::async_read(stream, asio::buffer(body), [&](auto e, std::size_t) { error = e; });
    run("waiting for");
    check(error, "reading from");
    nlohmann::json reply = decode_body(body);
    if (type_of(reply) == message_type::kError) {
      ErrorReply error = ErrorReply::parse(reply);
      if (error.retry_after > 0) throw RetryLater(error.reason, error.retry_after);
      throw ProtocolError("coordinator " + where + " refused: " + error.reason);
    }
    return reply;
  }
};

Client::Client(const Endpoint& endpoint, const std::string& token, const std::string& name,
               std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(token, timeout)) {
  impl_->where = "at " + endpoint.host + ":" + std::to_string(endpoint.port);
  boost::system::error_code error;
  tcp::resolver resolver(impl_->io);
  auto targets = resolver.resolve(endpoint.host, std::to_string(endpoint.port), error);
  impl_->check(error, "resolving");
  asio::async_connect(impl_->stream.lowest_layer(), targets, [&](auto e, const auto&) { error = e; });
  impl_->run("connecting to");
  impl_->check(error, "connecting to");
  impl_->stream.lowest_layer().set_option(tcp::no_delay(true), error);  // requests are small and awaited
  impl_->stream.async_handshake(asio::ssl::stream_base::client, [&](auto e) { error = e; });
  impl_->run("the TLS handshake with");
  if (error) {
    HandshakeProblem problem = explain_handshake_failure(error);
    std::string what = "coordinator " + impl_->where + " " + problem.reason;
    if (problem.worth_retrying) throw ConnectionError(what);
    throw ProtocolError(what);
  }
  impl_->send(Hello{name}.to_json());
  nlohmann::json reply = impl_->receive();  // an error reply throws ProtocolError
  if (type_of(reply) != message_type::kWelcome)
    throw ProtocolError("coordinator " + impl_->where + " answered hello with '" + excerpt(type_of(reply)) +
                        "'");
}

Client::~Client() = default;

nlohmann::json Client::request(const nlohmann::json& message) {
  // The coordinator says "later" when its database is locked by someone else (a backup, a query): the
  // request changed nothing, so it is sent again, for up to kBusyPatience.
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    impl_->send(message);
    try {
      return impl_->receive();
    } catch (const RetryLater& later) {
      if (std::chrono::steady_clock::now() - start > kBusyPatience)
        throw ProtocolError("coordinator " + impl_->where + " stayed busy for " +
                            std::to_string(kBusyPatience.count()) + " s: " + later.what());
      std::this_thread::sleep_for(std::chrono::duration<double>(later.seconds));
    }
  }
}

}  // namespace cfm::net

#include "orchestrator/coordinator_connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>

#include "common/net/frame.h"
#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/net/tls.h"
#include "common/util/excerpt.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace cfm {
namespace {

constexpr std::size_t kReadChunkBytes = 64 << 10;  // one read takes a typical request whole

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

CoordinatorConnection::CoordinatorConnection(Host& host, asio::ssl::context& tls, tcp::socket socket,
                                             std::uint64_t id, Limits limits)
    : host_(host),
      stream_(std::move(socket), tls),
      deadline_(stream_.get_executor()),
      limits_(limits),
      id_(id) {
  boost::system::error_code ignored;
  auto remote = stream_.lowest_layer().remote_endpoint(ignored);
  peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  stream_.lowest_layer().set_option(tcp::no_delay(true), ignored);  // replies are small and awaited
}

std::string CoordinatorConnection::who() const {
  return name_.empty() ? peer_ : excerpt(name_) + "@" + peer_;
}

// The first byte tells an older cfm (protocol 2 and before: a plain frame, whose length starts with a zero
// byte) from a TLS client (a handshake record, 0x16): the older one is told why in its own framing.
void CoordinatorConnection::start() {
  arm_deadline(limits_.handshake_seconds);
  stream_.next_layer().async_receive(
      asio::buffer(&first_byte_, 1), tcp::socket::message_peek,
      [self = shared_from_this()](boost::system::error_code error, std::size_t) {
        if (error) return self->closed(error);
        if (self->stage_ == Stage::Closed) return;
        if (self->first_byte_ == 0) return self->refuse_plain_frames();
        self->handshake();
      });
}

void CoordinatorConnection::refuse_plain_frames() {
  const std::string reason = fmt::format(
      "this coordinator speaks protocol version {} (TLS 1.3 keyed by the token); run the same cfm release "
      "on every node",
      net::kProtocolVersion);
  spdlog::warn(
      "rejected {}: sent a plain frame (a cfm older than protocol version {}); run the same cfm "
      "release on every node",
      peer_, net::kProtocolVersion);
  // The peer's hello is read first: closing with unread bytes would reset the connection and could
  // discard the reply before the peer reads it.
  inbox_.resize(net::kMaxHandshakeFrameBytes + 4);
  stream_.next_layer().async_read_some(
      asio::buffer(inbox_), [self = shared_from_this(), reason](boost::system::error_code, std::size_t) {
        if (self->stage_ == Stage::Closed) return;
        auto frame = std::make_shared<std::string>(net::encode_frame(net::ErrorReply{reason}.to_json()));
        asio::async_write(self->stream_.next_layer(), asio::buffer(*frame),
                          [self, frame](boost::system::error_code, std::size_t) { self->close(); });
      });
}

void CoordinatorConnection::handshake() {
  stream_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](auto error) {
    if (self->stage_ == Stage::Closed) return;
    if (error) {
      spdlog::warn("rejected {}: {}", self->peer_, net::explain_handshake_failure(error).reason);
      return self->close();
    }
    self->stage_ = Stage::Hello;
    self->read_frame();
  });
}

// The connection closes `limit` seconds from now unless a later call sets a new deadline (the
// handshake's, then the idle limit from each request on). A wait that a new deadline replaced either
// ends cancelled or, had it already fired, finds the timer's expiry still ahead.
void CoordinatorConnection::arm_deadline(double limit) {
  deadline_limit_ = limit;
  deadline_.expires_after(seconds(limit));
  deadline_.async_wait([self = shared_from_this()](auto error) {
    if (error || self->stage_ == Stage::Closed) return;
    if (asio::steady_timer::clock_type::now() < self->deadline_.expiry()) return;
    self->deadline_passed();
  });
}

void CoordinatorConnection::deadline_passed() {
  const double limit = deadline_limit_;
  if (stage_ == Stage::Tls) {
    spdlog::warn("rejected {}: no TLS handshake within {:g} s", peer_, limit);
    return close();
  }
  if (stage_ == Stage::Hello) return reject(fmt::format("did not say hello within {:g} s", limit));
  spdlog::info("closing {}: no message for {:g} s", who(), limit);
  close();
}

// Frames come through one buffer: a request usually arrives whole in one read; bytes past a frame wait
// there for the next one. The deadline is set once per frame, so a peer trickling bytes cannot extend it.
void CoordinatorConnection::read_frame() {
  if (stage_ == Stage::Ready) arm_deadline(limits_.idle_seconds);
  read_more();
}

void CoordinatorConnection::read_more() {
  try {
    if (take_frame()) return dispatch();
  } catch (const net::ProtocolError& e) {
    return reject(e.what());
  }
  const std::size_t held = inbox_.size();
  // At most one frame's worth beyond what is held: an anonymous peer stays within its handshake limit.
  const std::size_t chunk = std::min<std::size_t>(kReadChunkBytes, frame_limit() + 4);
  inbox_.resize(held + chunk);
  stream_.async_read_some(asio::buffer(inbox_.data() + held, chunk),
                          [self = shared_from_this(), held](auto error, std::size_t n) {
                            self->inbox_.resize(held + n);
                            if (error) return self->closed(error);
                            self->read_more();
                          });
}

std::uint32_t CoordinatorConnection::frame_limit() const {
  return stage_ == Stage::Ready ? net::kMaxFrameBytes : net::kMaxHandshakeFrameBytes;
}

// Moves one whole frame's body from the inbox into body_; false while bytes are missing. A header
// announcing more than the limit throws before anything is allocated for it.
bool CoordinatorConnection::take_frame() {
  std::array<unsigned char, 4> header{};
  if (inbox_.size() < header.size()) return false;
  std::memcpy(header.data(), inbox_.data(), header.size());
  const std::size_t size = net::frame_body_size(header, frame_limit());
  if (inbox_.size() < header.size() + size) return false;
  body_.assign(inbox_.data() + header.size(), size);
  inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(header.size() + size));
  if (inbox_.empty() && inbox_.capacity() > kReadChunkBytes) inbox_ = {};  // no 4 MiB kept while idle
  return true;
}

void CoordinatorConnection::dispatch() {
  json reply;
  try {
    json m = net::decode_body(body_);
    body_ = std::string();  // a 4 MiB frame is not kept while the connection idles
    reply = respond(m);
  } catch (const net::ProtocolError& e) {
    return reject(e.what());
  } catch (const json::exception& e) {
    return reject(std::string("malformed message: ") + e.what());
  }
  send(reply, false);
}

json CoordinatorConnection::respond(const json& m) {
  const std::string type = net::type_of(m);
  if (stage_ == Stage::Ready) return host_.respond(m, who());
  if (type != net::message_type::kHello)
    throw net::ProtocolError("expected 'hello' before '" + excerpt(type) + "'");
  name_ = net::Hello::parse(m).name;
  stage_ = Stage::Ready;
  host_.left_anonymity(id_);
  return net::Welcome{}.to_json();
}

// A reply that cannot be encoded (over the frame limit) is replaced by a short error: the peer learns why,
// and nothing escapes into the server loop.
void CoordinatorConnection::send(const json& reply, bool close_after) {
  auto frame = std::make_shared<std::string>();
  try {
    *frame = net::encode_frame(reply);
  } catch (const std::exception& e) {
    spdlog::error("reply to {} not sent: {}", who(), excerpt(e.what(), net::kMaxReasonBytes));
    *frame = net::encode_frame(
        net::ErrorReply{"the reply could not be sent: " + excerpt(e.what(), net::kMaxReasonBytes)}.to_json());
  }
  asio::async_write(stream_, asio::buffer(*frame),
                    [self = shared_from_this(), frame, close_after](auto error, std::size_t) {
                      if (error || close_after) return self->close();
                      self->read_frame();
                    });
}

void CoordinatorConnection::reject(const std::string& reason) {
  if (stage_ == Stage::Closed) return;
  std::string quoted = excerpt(reason, net::kMaxReasonBytes);
  spdlog::warn("rejected {}: {}", who(), quoted);
  stage_ = Stage::Closed;
  host_.left_anonymity(id_);
  deadline_.cancel();
  send(net::ErrorReply{quoted}.to_json(), true);
}

// A record that fails its authentication tag (damaged or forged on the path) ends the connection as
// OpenSSL's own errors do; a peer that simply leaves is not worth a warning.
void CoordinatorConnection::closed(const boost::system::error_code& error) {
  if (std::optional<std::string> reason = net::refused_record(error))
    spdlog::warn("closed {}: TLS record refused ({})", who(), *reason);
  else if (error != asio::error::eof && error != asio::error::operation_aborted)
    spdlog::debug("connection {} ended: {}", who(), error.message());
  close();
}

void CoordinatorConnection::close() {
  stage_ = Stage::Closed;
  host_.left_anonymity(id_);
  deadline_.cancel();
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
}

}  // namespace cfm

#include "orchestrator/coordinator.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <unordered_set>
#include <vector>

#include "common/net/auth.h"
#include "common/net/frame.h"
#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/store/job_store.h"
#include "common/store/sqlite.h"
#include "common/store/wal_checkpointer.h"
#include "common/util/excerpt.h"
#include "common/util/unix_time.h"
#include "orchestrator/submission.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace cfm {
namespace {

constexpr std::size_t kMaxReasonBytes = 2048;     // what an error reply or log line quotes at most
constexpr std::size_t kRememberedNonces = 16384;  // recent nonces, issued or received
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);
constexpr std::chrono::milliseconds kCheckpointInterval{100};  // WAL checkpoints, on their own thread
constexpr int kBusyTimeoutMs = 250;                // the longest one request waits for another process's lock
constexpr double kRetryAfterSeconds = 1;           // what a peer is told to wait when it did not get it
constexpr std::size_t kReadChunkBytes = 64 << 10;  // one read takes a typical request whole

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// Lets a burst of identical warnings through once a second, with the count of those held back.
class ThrottledWarning {
 public:
  template <typename... Args>
  void operator()(fmt::format_string<Args...> format, Args&&... args) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(1)) {
      ++held_back_;
      return;
    }
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    if (held_back_) line += fmt::format(" ({} more like this in the last second)", held_back_);
    spdlog::warn("{}", line);
    last_ = now;
    held_back_ = 0;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  long held_back_ = 0;
};

// The soft descriptor limit is often 1,024 while the hard one is far higher: take what is allowed.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) spdlog::debug("descriptor limit raised to {}", limit.rlim_cur);
}

}  // namespace

struct Coordinator::Impl {
  class Session;

  CoordinatorOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer expiry_timer{io}, accept_retry_timer{io};
  JobStore store;
  WalCheckpointer checkpointer{store.database(), kCheckpointInterval};  // the server thread never checkpoints
  int reserve_descriptor = -1;  // spent to shed a connection when every descriptor is in use
  std::map<std::uint64_t, std::weak_ptr<Session>> handshaking;  // unauthenticated, oldest first
  std::uint64_t next_session = 0;
  std::unordered_set<std::string> seen_nonces;
  std::deque<std::string> nonce_order;
  ThrottledWarning accept_warning, crowd_warning;

  explicit Impl(const CoordinatorOptions& o) : options(o), store(o.db_path) {
    // One event loop serves every connection: a lock held by another process must not freeze it for
    // long. A request that finds the database locked is answered "retry later" (see dispatch()).
    store.database().set_busy_timeout(kBusyTimeoutMs);
    net::check_token_strength(o.token, "coordinator");
    // Run folders are <runs_root>/<key>, absolute and normalised: workers refuse any other form.
    std::filesystem::path runs = std::filesystem::absolute(o.runs_root).lexically_normal();
    options.runs_root = (runs.filename().empty() ? runs.parent_path() : runs).string();
    raise_descriptor_limit();
    reserve_descriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  ~Impl() {
    if (reserve_descriptor >= 0) ::close(reserve_descriptor);
  }

  // Jobs whose workers vanished go back to the queue (also right after a restart). A failure here (a
  // database locked for long) is logged and retried on the next tick.
  void schedule_expiry() {
    try {
      int expired = store.expire_leases(unix_now());
      if (expired) spdlog::warn("{} lease(s) expired and were requeued or failed", expired);
    } catch (const std::exception& e) {
      spdlog::error("expiring leases failed (retrying in 1 s): {}", e.what());
    }
    expiry_timer.expires_after(std::chrono::seconds(1));
    expiry_timer.async_wait([this](auto error) {
      if (!error) schedule_expiry();
    });
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted) return;
      if (error) return accept_failed(error);
      admit(std::move(socket));
      accept();
    });
  }

  // Accepting never stops: out of descriptors, make room and try again shortly.
  void accept_failed(const boost::system::error_code& error) {
    bool out_of_descriptors = error == asio::error::no_descriptors || error.value() == ENFILE;
    bool freed = out_of_descriptors && make_room();
    accept_warning("accept failed: {} (retrying)", error.message());
    accept_retry_timer.expires_after(freed ? std::chrono::milliseconds(0) : kAcceptRetry);
    accept_retry_timer.async_wait([this](auto e) {
      if (!e) accept();
    });
  }

  // Frees a descriptor: the oldest unauthenticated connection goes; without one, the pending connection
  // is accepted on the reserve descriptor and closed at once, so its peer sees a refusal, not a hang.
  // Returns true when a connection of an anonymous peer was closed (a descriptor is free now).
  bool make_room() {
    if (evict_oldest_handshake("out of file descriptors")) return true;
    if (reserve_descriptor >= 0) ::close(reserve_descriptor);
    int shed = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (shed >= 0) ::close(shed);
    reserve_descriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return false;
  }

  void admit(tcp::socket socket) {
    while (static_cast<int>(handshaking.size()) >= std::max(1, options.max_unauthenticated))
      evict_oldest_handshake("more than " + std::to_string(options.max_unauthenticated) +
                             " unauthenticated connections");
    auto session = std::make_shared<Session>(*this, std::move(socket), next_session++);
    handshaking.emplace(session->id(), session);
    session->start();
  }

  bool evict_oldest_handshake(const std::string& why);

  // Nonces seen recently, issued or received: a hello that presents one is a reflection or a replay.
  bool nonce_seen(const std::string& nonce) const { return seen_nonces.count(nonce) > 0; }
  void remember_nonce(const std::string& nonce) {
    if (!seen_nonces.insert(nonce).second) return;
    nonce_order.push_back(nonce);
    if (nonce_order.size() > kRememberedNonces) {
      seen_nonces.erase(nonce_order.front());
      nonce_order.pop_front();
    }
  }

  json handle(const json& m, const std::string& peer) {
    namespace type = net::message_type;
    const std::string t = net::type_of(m);
    double now = unix_now();
    if (t == type::kLease) return lease(net::LeaseRequest::parse(m), now);
    if (t == type::kHeartbeat)
      return net::HeartbeatReply{
          store.heartbeat(net::Heartbeat::parse(m).lease_id, options.lease_seconds, now)}
          .to_json();
    if (t == type::kResult) {
      net::ResultReport report = net::ResultReport::parse(m);
      bool accepted = store.complete(report.lease_id, report.result, now);
      if (!accepted)
        spdlog::warn("stale result from {} ignored (lease {} no longer current)", peer,
                     excerpt(report.lease_id));
      return net::Acknowledgement{accepted}.to_json();
    }
    if (t == type::kFailure) {
      net::FailureReport report = net::FailureReport::parse(m);
      bool accepted = store.fail(report.lease_id, report.error, report.log_tail, now);
      if (accepted) spdlog::warn("job failed on {}: {}", peer, excerpt(report.error, 300));
      return net::Acknowledgement{accepted}.to_json();
    }
    if (t == type::kRelease)
      return net::Acknowledgement{store.release(net::Release::parse(m).lease_id, now)}.to_json();
    if (t == type::kSubmit) return submit(parse_submission(m), now);
    if (t == type::kStatus) {
      StateCounts c = store.counts(net::StatusRequest::parse(m).grid);
      return net::StatusReply{c.pending, c.leased, c.running, c.succeeded, c.failed, store.grids()}.to_json();
    }
    throw net::ProtocolError("unknown message type '" + excerpt(t) + "'");
  }

  json lease(const net::LeaseRequest& request, double now) {
    auto lease = store.lease(request.worker, options.runs_root, options.lease_seconds, now, request.devices);
    if (!lease) return net::Idle{store.counts().finished()}.to_json();
    spdlog::info("job {} attempt {} -> {}", lease->key.substr(0, 12), lease->attempt,
                 excerpt(request.worker));
    return net::JobOfferMessage{lease->key,     lease->lease_id, lease->run_dir,
                                lease->attempt, lease->config,   options.lease_seconds / 4}
        .to_json();
  }

  json submit(const Submission& s, double now) {
    SubmitSummary summary = store.submit(s.grid, s.spec, s.jobs, s.max_attempts, s.force, now);
    spdlog::info("grid '{}' submitted: {} new, {} requeued, {} already done, {} in the queue", s.grid,
                 summary.added, summary.requeued, summary.already_done, summary.in_queue);
    return net::Submitted{summary.added, summary.requeued, summary.already_done, summary.in_queue}.to_json();
  }

  // One connection: handshake (hello -> challenge -> auth -> welcome), then request/reply until the
  // peer leaves, breaks the protocol or stays silent past its deadline.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& server, tcp::socket socket, std::uint64_t id)
        : server_(server), socket_(std::move(socket)), deadline_(server.io), id_(id) {
      boost::system::error_code ignored;
      auto remote = socket_.remote_endpoint(ignored);
      peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
    }

    std::uint64_t id() const { return id_; }

    void start() {
      arm_deadline(server_.options.handshake_seconds);
      read_frame();
    }

    // Closes without a reply (the server needs the descriptor or the slot now).
    void drop(const std::string& why) {
      if (stage_ == Stage::Closed) return;
      server_.crowd_warning("closed unauthenticated connection {}: {}", peer_, why);
      close();
    }

   private:
    enum class Stage { Hello, Challenged, Authenticated, Closed };

    // The connection closes `limit` seconds from now unless a later call moves that further (deadlines
    // only move later: the handshake's, then the idle limit from each request on). The timer is
    // set once per deadline and, firing before the current one, waits again for the rest: re-setting it
    // on every request cost a cancellation and a handler run per request.
    void arm_deadline(double limit) {
      deadline_limit_ = limit;
      deadline_at_ = asio::steady_timer::clock_type::now() + seconds(limit);
      if (!deadline_waiting_) wait_for_deadline();
    }

    void wait_for_deadline() {
      deadline_waiting_ = true;
      deadline_.expires_at(deadline_at_);
      deadline_.async_wait([self = shared_from_this()](auto error) {
        self->deadline_waiting_ = false;
        if (error || self->stage_ == Stage::Closed) return;
        if (asio::steady_timer::clock_type::now() < self->deadline_at_) return self->wait_for_deadline();
        const double limit = self->deadline_limit_;
        if (self->stage_ != Stage::Authenticated)
          return self->reject(fmt::format("did not authenticate within {:g} s", limit));
        spdlog::info("closing {}@{}: no message for {:g} s", self->name_, self->peer_, limit);
        self->close();
      });
    }

    // Frames come through one buffer: a request usually arrives whole in one read (one system call where
    // a header read and a body read took two); bytes past a frame wait there for the next one. The
    // deadline is set once per frame, so a peer trickling bytes cannot extend it.
    void read_frame() {
      if (stage_ == Stage::Authenticated) arm_deadline(server_.options.idle_seconds);
      read_more();
    }

    void read_more() {
      try {
        if (take_frame()) return dispatch();
      } catch (const net::ProtocolError& e) {
        return reject(e.what());
      }
      const std::size_t held = inbox_.size();
      // At most one frame's worth beyond what is held: an anonymous peer stays within its handshake limit.
      const std::size_t chunk = std::min<std::size_t>(kReadChunkBytes, frame_limit() + 4);
      inbox_.resize(held + chunk);
      socket_.async_read_some(asio::buffer(inbox_.data() + held, chunk),
                              [self = shared_from_this(), held](auto error, std::size_t n) {
                                self->inbox_.resize(held + n);
                                if (error) return self->closed(error);
                                self->read_more();
                              });
    }

    std::uint32_t frame_limit() const {
      return stage_ == Stage::Authenticated ? net::kMaxFrameBytes : net::kMaxHandshakeFrameBytes;
    }

    // Moves one whole frame's body from the inbox into body_; false while bytes are missing. A header
    // announcing more than the limit throws before anything is allocated for it.
    bool take_frame() {
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

    void dispatch() {
      json reply;
      try {
        json m = net::decode_body(body_);
        body_ = std::string();  // a 4 MiB frame is not kept while the connection idles
        reply = respond(m);
      } catch (const net::ProtocolError& e) {
        return reject(e.what());
      } catch (const json::exception& e) {
        return reject(std::string("malformed message: ") + e.what());
      } catch (const StoreBusyError&) {  // nothing was written: the peer sends the same request again
        spdlog::warn("database locked by another connection; {} asked to retry", peer_);
        reply = net::ErrorReply{"the results database is locked by another connection", kRetryAfterSeconds}
                    .to_json();
      } catch (const std::exception& e) {
        spdlog::error("request from {} failed: {}", peer_, excerpt(e.what(), kMaxReasonBytes));
        reply = net::ErrorReply{excerpt(e.what(), kMaxReasonBytes)}.to_json();
      }
      send(reply, false);
    }

    json respond(const json& m) {
      const std::string type = net::type_of(m);
      if (stage_ == Stage::Hello) return hello(m, type);
      if (stage_ == Stage::Challenged) {
        if (type != net::message_type::kAuth)
          throw net::ProtocolError("expected 'auth' after the challenge, got '" + excerpt(type) + "'");
        if (!net::proof_matches(server_.options.token, net::Role::Client, client_nonce_, server_nonce_,
                                net::Auth::parse(m).proof))
          throw net::ProtocolError(
              "authentication failed (wrong token, or a proof taken from another connection)");
        stage_ = Stage::Authenticated;
        server_.handshaking.erase(id_);
        return net::Welcome{}.to_json();
      }
      return server_.handle(m, name_ + "@" + peer_);
    }

    json hello(const json& m, const std::string& type) {
      if (type != net::message_type::kHello)
        throw net::ProtocolError("expected 'hello' before '" + excerpt(type) + "'");
      net::Hello hello = net::Hello::parse(m);
      name_ = hello.name;
      client_nonce_ = hello.nonce;
      if (server_.nonce_seen(client_nonce_))
        throw net::ProtocolError(
            "hello presents a nonce this coordinator has seen before (a reflected or replayed handshake)");
      server_nonce_ = net::random_nonce();
      server_.remember_nonce(client_nonce_);
      server_.remember_nonce(server_nonce_);
      stage_ = Stage::Challenged;
      std::string proof =
          net::handshake_proof(server_.options.token, net::Role::Coordinator, client_nonce_, server_nonce_);
      return net::Challenge{server_nonce_, proof}.to_json();
    }

    // A reply that cannot be encoded (over the frame limit) is replaced by a short error: the peer
    // learns why, and nothing escapes into the server loop.
    void send(const json& reply, bool close_after) {
      auto frame = std::make_shared<std::string>();
      try {
        *frame = net::encode_frame(reply);
      } catch (const std::exception& e) {
        spdlog::error("reply to {} not sent: {}", peer_, excerpt(e.what(), kMaxReasonBytes));
        *frame = net::encode_frame(
            net::ErrorReply{"the reply could not be sent: " + excerpt(e.what(), kMaxReasonBytes)}.to_json());
      }
      asio::async_write(socket_, asio::buffer(*frame),
                        [self = shared_from_this(), frame, close_after](auto error, std::size_t) {
                          if (error || close_after) return self->close();
                          self->read_frame();
                        });
    }

    void reject(const std::string& reason) {
      if (stage_ == Stage::Closed) return;
      std::string quoted = excerpt(reason, kMaxReasonBytes);
      spdlog::warn("rejected {}{}: {}", name_.empty() ? "" : excerpt(name_) + "@", peer_, quoted);
      stage_ = Stage::Closed;
      server_.handshaking.erase(id_);
      deadline_.cancel();
      send(net::ErrorReply{quoted}.to_json(), true);
    }

    void closed(const boost::system::error_code& error) {
      if (error != asio::error::eof && error != asio::error::operation_aborted)
        spdlog::debug("connection {} ended: {}", peer_, error.message());
      close();
    }

    void close() {
      stage_ = Stage::Closed;
      server_.handshaking.erase(id_);
      deadline_.cancel();
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
    }

    Impl& server_;
    tcp::socket socket_;
    asio::steady_timer deadline_;
    asio::steady_timer::time_point deadline_at_;
    double deadline_limit_ = 0;
    bool deadline_waiting_ = false;
    std::uint64_t id_;
    std::vector<char> inbox_;  // bytes received and not yet taken as a frame
    std::string body_, peer_, name_, client_nonce_, server_nonce_;
    Stage stage_ = Stage::Hello;
  };
};

bool Coordinator::Impl::evict_oldest_handshake(const std::string& why) {
  while (!handshaking.empty()) {
    auto oldest = handshaking.begin();
    std::shared_ptr<Session> session = oldest->second.lock();
    handshaking.erase(oldest);
    if (session) {
      session->drop(why);
      return true;
    }
  }
  return false;
}

Coordinator::Coordinator(const CoordinatorOptions& options) : impl_(std::make_unique<Impl>(options)) {
  tcp::resolver resolver(impl_->io);
  tcp::endpoint endpoint = *resolver.resolve(options.host, std::to_string(options.port)).begin();
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->acceptor.non_blocking(true);  // make_room() accepts on it directly and must not block
  std::filesystem::create_directories(options.runs_root);
}

Coordinator::~Coordinator() = default;

unsigned short Coordinator::port() const { return impl_->acceptor.local_endpoint().port(); }

// A handler that throws (it should not) costs its own connection, never the server.
void Coordinator::run() {
  impl_->schedule_expiry();
  impl_->accept();
  while (true) {
    try {
      impl_->io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("a connection handler failed, serving on: {}", excerpt(e.what(), kMaxReasonBytes));
    }
  }
}

void Coordinator::stop() {
  asio::post(impl_->io, [this] { impl_->io.stop(); });
}

JobStore& Coordinator::store() { return impl_->store; }

}  // namespace cfm

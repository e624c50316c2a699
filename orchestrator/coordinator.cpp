#include "orchestrator/coordinator.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <vector>

#include "common/net/frame.h"
#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/net/tls.h"
#include "common/net/token_file.h"
#include "common/store/database_owner.h"
#include "common/store/sqlite.h"
#include "common/util/excerpt.h"
#include "common/util/unix_time.h"
#include "orchestrator/coordinator_connection.h"
#include "orchestrator/job_store.h"
#include "orchestrator/submission.h"
#include "orchestrator/wal_checkpointer.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace cfm {
namespace {

constexpr auto kAcceptRetry = std::chrono::milliseconds(50);
constexpr std::chrono::milliseconds kCheckpointInterval{100};  // WAL checkpoints, on their own thread
constexpr int kBusyTimeoutMs = 250;       // the longest one request waits for another process's lock
constexpr double kRetryAfterSeconds = 1;  // what a peer is told to wait when it did not get it

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

struct Coordinator::Impl : CoordinatorConnection::Host {
  CoordinatorOptions options;
  net::TlsContext tls;  // before io: the connections that io's handlers hold use it
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer expiry_timer{io}, accept_retry_timer{io};
  DatabaseOwner owner;  // before the store: a second coordinator stops before it opens the database
  JobStore store;
  WalCheckpointer checkpointer{store.database(), kCheckpointInterval};  // the server thread never checkpoints
  int reserve_descriptor = -1;  // spent to shed a connection when every descriptor is in use
  std::map<std::uint64_t, std::weak_ptr<CoordinatorConnection>> anonymous;  // oldest first
  std::uint64_t next_connection = 0;
  ThrottledWarning accept_warning, crowd_warning;

  explicit Impl(const CoordinatorOptions& o)
      : options(o),
        tls(net::TlsRole::Coordinator, o.token),
        owner(o.db_path, o.allow_network_fs),
        store(o.db_path) {
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
    if (evict_oldest_anonymous("out of file descriptors")) return true;
    if (reserve_descriptor >= 0) ::close(reserve_descriptor);
    int shed = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (shed >= 0) ::close(shed);
    reserve_descriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return false;
  }

  void admit(tcp::socket socket) {
    while (static_cast<int>(anonymous.size()) >= std::max(1, options.max_unauthenticated))
      evict_oldest_anonymous("more than " + std::to_string(options.max_unauthenticated) +
                             " unauthenticated connections");
    auto connection = std::make_shared<CoordinatorConnection>(
        *this, tls.native(), std::move(socket), next_connection++,
        CoordinatorConnection::Limits{options.handshake_seconds, options.idle_seconds});
    anonymous.emplace(connection->id(), connection);
    connection->start();
  }

  // Closes the oldest connection that has not said hello yet; false when there is none.
  bool evict_oldest_anonymous(const std::string& why) {
    while (!anonymous.empty()) {
      std::shared_ptr<CoordinatorConnection> connection = anonymous.begin()->second.lock();
      anonymous.erase(anonymous.begin());
      if (connection) {
        crowd_warning("closed unauthenticated connection {}: {}", connection->peer(), why);
        connection->close();
        return true;
      }
    }
    return false;
  }

  void left_anonymity(std::uint64_t id) override { anonymous.erase(id); }

  // A request the store cannot serve now, or that fails, gets an error reply and changes nothing; only
  // a request that breaks the protocol (ProtocolError, a JSON error) costs the peer its connection.
  json respond(const json& request, const std::string& peer) override {
    try {
      return handle(request, peer);
    } catch (const net::ProtocolError&) {
      throw;
    } catch (const json::exception&) {
      throw;
    } catch (const StoreBusyError&) {  // nothing was written: the peer sends the same request again
      spdlog::warn("database locked by another connection; {} asked to retry", peer);
      return net::ErrorReply{"the results database is locked by another connection", kRetryAfterSeconds}
          .to_json();
    } catch (const std::exception& e) {
      spdlog::error("request from {} failed: {}", peer, excerpt(e.what(), net::kMaxReasonBytes));
      return net::ErrorReply{excerpt(e.what(), net::kMaxReasonBytes)}.to_json();
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

  json submit(const net::Submit& s, double now) {
    SubmitSummary summary = store.submit(s.grid, s.spec, s.jobs, s.max_attempts, s.force, now);
    spdlog::info("grid '{}' submitted: {} new, {} requeued, {} already done, {} in the queue", s.grid,
                 summary.added, summary.requeued, summary.already_done, summary.in_queue);
    return net::Submitted{summary.added, summary.requeued, summary.already_done, summary.in_queue}.to_json();
  }
};

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
      spdlog::error("a connection handler failed, serving on: {}", excerpt(e.what(), net::kMaxReasonBytes));
    }
  }
}

void Coordinator::stop() {
  asio::post(impl_->io, [this] { impl_->io.stop(); });
}

JobStore& Coordinator::store() { return impl_->store; }

}  // namespace cfm

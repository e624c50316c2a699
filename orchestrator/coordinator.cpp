#include "orchestrator/coordinator.h"

#include <boost/asio.hpp>

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "net/auth.h"
#include "net/frame.h"
#include "net/protocol_error.h"
#include "store/job_store.h"
#include "util/unix_time.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace cfm {
namespace {

std::string text(const json& message, const char* field) {
  if (!message.contains(field) || !message[field].is_string()) throw net::ProtocolError(std::string("message lacks the string field '") + field + "'");
  return message[field];
}

}  // namespace

struct Coordinator::Impl {
  CoordinatorOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer expiry_timer{io};
  JobStore store;

  explicit Impl(const CoordinatorOptions& o) : options(o), store(o.db_path) {}

  // Jobs whose workers vanished go back to the queue (also right after a restart).
  void schedule_expiry() {
    int expired = store.expire_leases(unix_now());
    if (expired) spdlog::warn("{} lease(s) expired and were requeued or failed", expired);
    expiry_timer.expires_after(std::chrono::seconds(1));
    expiry_timer.async_wait([this](auto error) {
      if (!error) schedule_expiry();
    });
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code error, tcp::socket socket) {
      if (error) {
        if (error != asio::error::operation_aborted) spdlog::error("accept failed: {}", error.message());
        return;
      }
      std::make_shared<Session>(*this, std::move(socket))->start();
      accept();
    });
  }

  json handle(const json& m, const std::string& peer) {
    const std::string type = m["type"];
    double now = unix_now();
    if (type == "lease") {
      const std::string worker = text(m, "worker");
      auto lease = store.lease(worker, options.runs_root, options.lease_seconds, now);
      if (!lease) {
        StateCounts c = store.counts();
        return {{"type", "idle"}, {"finished", c.finished()}};
      }
      spdlog::info("job {} attempt {} -> {}", lease->key.substr(0, 12), lease->attempt, worker);
      return {{"type", "job"}, {"key", lease->key}, {"attempt", lease->attempt}, {"lease_id", lease->lease_id},
              {"run_dir", lease->run_dir}, {"config", lease->config}, {"heartbeat_seconds", options.lease_seconds / 4}};
    }
    if (type == "heartbeat") return {{"type", "ok"}, {"valid", store.heartbeat(text(m, "lease_id"), options.lease_seconds, now)}};
    if (type == "result") {
      if (!m.contains("result") || !m["result"].is_object()) throw net::ProtocolError("result message without a result object");
      bool accepted = store.complete(text(m, "lease_id"), m["result"], now);
      if (!accepted) spdlog::warn("stale result from {} ignored (lease {} no longer current)", peer, m["lease_id"].get<std::string>());
      return {{"type", "ok"}, {"accepted", accepted}};
    }
    if (type == "failure") {
      bool accepted = store.fail(text(m, "lease_id"), text(m, "error"), m.value("log_tail", std::string()), now);
      if (accepted) spdlog::warn("job failed on {}: {}", peer, m["error"].get<std::string>());
      return {{"type", "ok"}, {"accepted", accepted}};
    }
    if (type == "release") return {{"type", "ok"}, {"accepted", store.release(text(m, "lease_id"), now)}};
    if (type == "submit") return submit(m, now);
    if (type == "status") {
      StateCounts c = store.counts(m.value("grid", std::string()));
      return {{"type", "status"}, {"pending", c.pending}, {"leased", c.leased}, {"running", c.running}, {"succeeded", c.succeeded},
              {"failed", c.failed}, {"grids", store.grids()}};
    }
    throw net::ProtocolError("unknown message type '" + type + "'");
  }

  json submit(const json& m, double now) {
    if (!m.contains("jobs") || !m["jobs"].is_array()) throw net::ProtocolError("submit message without a jobs list");
    std::vector<JobSpec> jobs;
    for (const json& j : m["jobs"]) {
      if (!j.is_object() || !j.contains("config") || !j["config"].is_object()) throw net::ProtocolError("submitted job without a config object");
      jobs.push_back({text(j, "key"), j["config"], j.value("axes", json::object())});
    }
    SubmitSummary s = store.submit(text(m, "grid"), m.value("spec", std::string()), jobs, m.value("max_attempts", 3), m.value("force", false), now);
    spdlog::info("grid '{}' submitted: {} new, {} requeued, {} already done, {} in the queue", m["grid"].get<std::string>(), s.added, s.requeued,
                 s.already_done, s.in_queue);
    return {{"type", "submitted"}, {"added", s.added}, {"requeued", s.requeued}, {"already_done", s.already_done}, {"in_queue", s.in_queue}};
  }

  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& server, tcp::socket socket) : server_(server), socket_(std::move(socket)), deadline_(server.io) {
      boost::system::error_code ignored;
      auto remote = socket_.remote_endpoint(ignored);
      peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
    }

    void start() {
      deadline_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(server_.options.handshake_seconds)));
      deadline_.async_wait([self = shared_from_this()](auto error) {
        if (!error && self->stage_ != Stage::Authenticated) self->reject("did not authenticate in time");
      });
      read_header();
    }

   private:
    enum class Stage { Hello, Challenged, Authenticated, Closed };

    void read_header() {
      asio::async_read(socket_, asio::buffer(header_), [self = shared_from_this()](auto error, std::size_t) {
        if (error) return self->closed(error);
        try {
          self->body_.assign(net::frame_body_size(self->header_), '\0');
        } catch (const net::ProtocolError& e) {
          return self->reject(e.what());
        }
        self->read_body();
      });
    }

    void read_body() {
      asio::async_read(socket_, asio::buffer(body_), [self = shared_from_this()](auto error, std::size_t) {
        if (error) return self->closed(error);
        self->dispatch();
      });
    }

    void dispatch() {
      json reply;
      try {
        json m = net::decode_body(body_);
        reply = respond(m);
      } catch (const net::ProtocolError& e) {
        return reject(e.what());
      } catch (const json::exception& e) {
        return reject(std::string("malformed message: ") + e.what());
      } catch (const std::exception& e) {
        spdlog::error("request from {} failed: {}", peer_, e.what());
        reply = {{"type", "error"}, {"reason", e.what()}};
      }
      send(reply, false);
    }

    json respond(const json& m) {
      const std::string type = m["type"];
      if (stage_ == Stage::Hello) {
        if (type != "hello") throw net::ProtocolError("expected 'hello' before '" + type + "'");
        name_ = text(m, "name");
        nonce_ = net::random_nonce();
        stage_ = Stage::Challenged;
        return {{"type", "challenge"}, {"nonce", nonce_}, {"proof", net::hmac_sha256_hex(server_.options.token, text(m, "nonce"))}};
      }
      if (stage_ == Stage::Challenged) {
        if (type != "auth" || !net::proof_matches(server_.options.token, nonce_, text(m, "proof")))
          throw net::ProtocolError("authentication failed (wrong token)");
        stage_ = Stage::Authenticated;
        deadline_.cancel();
        return {{"type", "welcome"}};
      }
      return server_.handle(m, name_ + "@" + peer_);
    }

    void send(const json& reply, bool close_after) {
      auto frame = std::make_shared<std::string>(net::encode_frame(reply));
      asio::async_write(socket_, asio::buffer(*frame), [self = shared_from_this(), frame, close_after](auto error, std::size_t) {
        if (error || close_after) return self->close();
        self->read_header();
      });
    }

    void reject(const std::string& reason) {
      if (stage_ == Stage::Closed) return;
      spdlog::warn("rejected {}{}: {}", name_.empty() ? "" : name_ + "@", peer_, reason);
      stage_ = Stage::Closed;
      deadline_.cancel();
      send({{"type", "error"}, {"reason", reason}}, true);
    }

    void closed(const boost::system::error_code& error) {
      if (error != asio::error::eof && error != asio::error::operation_aborted) spdlog::debug("connection {} ended: {}", peer_, error.message());
      close();
    }

    void close() {
      stage_ = Stage::Closed;
      deadline_.cancel();
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
    }

    Impl& server_;
    tcp::socket socket_;
    asio::steady_timer deadline_;
    std::array<unsigned char, 4> header_{};
    std::string body_, peer_, name_, nonce_;
    Stage stage_ = Stage::Hello;
  };
};

Coordinator::Coordinator(const CoordinatorOptions& options) : impl_(std::make_unique<Impl>(options)) {
  tcp::resolver resolver(impl_->io);
  tcp::endpoint endpoint = *resolver.resolve(options.host, std::to_string(options.port)).begin();
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  std::filesystem::create_directories(options.runs_root);
}

Coordinator::~Coordinator() = default;

unsigned short Coordinator::port() const { return impl_->acceptor.local_endpoint().port(); }

void Coordinator::run() {
  impl_->schedule_expiry();
  impl_->accept();
  impl_->io.run();
}

void Coordinator::stop() { asio::post(impl_->io, [this] { impl_->io.stop(); }); }

JobStore& Coordinator::store() { return impl_->store; }

}  // namespace cfm

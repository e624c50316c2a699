// The coordinator (docs/architecture.md §4-5): a Boost.Asio TLS server (coordinator_connection.h) that owns
// the results database, hands jobs to workers holding the token as leases, takes their heartbeats and
// reports, and accepts grid submissions and status queries. Single-threaded: every handler runs on the
// io_context thread, so the store has a single writer. A peer without the token fails the TLS handshake; one
// that breaks the protocol (garbage, oversized or deep frame, unknown message, an invalid submission) gets a
// short error reply; either is logged and disconnected, and the coordinator carries on. Whatever a peer
// sends, and however many connect, costs at most that peer's connections: replies never exceed the frame
// limit, anonymous peers are capped in number, frame size and time, and running out of file descriptors only
// delays accepting.
#pragma once

#include <memory>
#include <string>

namespace cfm {

class JobStore;

struct CoordinatorOptions {
  std::string db_path;
  std::string runs_root;  // run folders: <runs_root>/<job key>
  std::string token;      // at least net::kMinTokenBytes
  std::string host = "127.0.0.1";
  unsigned short port = 0;        // 0: any free port (see Coordinator::port)
  double lease_seconds = 30;      // a lease without heartbeats for this long expires
  double handshake_seconds = 5;   // a connection without TLS handshake and hello by then is closed
  double idle_seconds = 300;      // an authenticated connection without a message for this long is closed
  int max_unauthenticated = 128;  // beyond this many, the oldest unauthenticated connection is closed
  bool allow_network_fs = false;  // serve a database on NFS, Lustre, ... (common/store/database_owner.h)
};

class Coordinator {
 public:
  // Throws UsageError when another coordinator serves the same database, or when it is on a network file
  // system and that is not allowed.
  explicit Coordinator(const CoordinatorOptions& options);
  ~Coordinator();

  unsigned short port() const;
  void run();   // serves until stop(); call from one thread
  void stop();  // thread-safe
  JobStore& store();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cfm

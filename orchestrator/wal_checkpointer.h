// WAL checkpoints of one database on a thread of their own (docs/architecture.md §10).
//
// SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages: the coordinator's one
// server thread paid, in the middle of serving, for copying pages back into the database file and for its
// fsync, a large part of its per-job database cost. With a WalCheckpointer, the writing connection's
// automatic checkpoint is off and this thread runs a PASSIVE checkpoint, which never waits for the writer
// or for readers, every `interval` over a connection of its own; when the WAL has grown past
// `restart_above_frames` pages anyway (a writer that never pauses), the next one is a RESTART, which waits
// for the writer's current transaction and for readers of older snapshots, keeping new writers out
// meanwhile: at most 20 ms, and one that could not finish is retried only a second later. Commits stay as
// durable as before (they are in the WAL either way); the WAL file is reused from its start after each
// complete checkpoint.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace cfm {

class Database;

class WalCheckpointer {
 public:
  WalCheckpointer(Database& writer, std::chrono::milliseconds interval, int restart_above_frames = 10000);
  // Stops the thread after one last PASSIVE checkpoint (never waiting for a reader: SQLite checkpoints
  // again when the last connection closes) and gives the writer its automatic checkpoint back.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Complete checkpoints so far (for tests and the benchmark).
  int checkpoints() const;

 private:
  void run();

  Database& writer_;
  const std::string path_;
  const std::chrono::milliseconds interval_;
  const int restart_above_frames_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace cfm

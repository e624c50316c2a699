#include "orchestrator/wal_checkpointer.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "common/store/sqlite.h"
#include "common/util/excerpt.h"

namespace cfm {
namespace {

// A RESTART waits for the writer and for readers of older snapshots, and keeps new writers out while it
// waits; it gives up after this long (and is tried again at the next interval), well inside the
// coordinator's own 250 ms wait for a lock. One that could not finish (a reader kept its snapshot) is
// not tried again for a while: meanwhile PASSIVE checkpoints, which never keep the writer out.
constexpr int kLongestWaitMs = 20;
constexpr auto kRestartRetry = std::chrono::seconds(1);

}  // namespace

WalCheckpointer::WalCheckpointer(Database& writer, std::chrono::milliseconds interval,
                                 int restart_above_frames)
    : writer_(writer),
      path_(writer.path()),
      interval_(interval),
      restart_above_frames_(restart_above_frames) {
  writer_.set_auto_checkpoint(0);
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  writer_.set_auto_checkpoint(kSqliteDefaultAutoCheckpoint);
}

int WalCheckpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return checkpoints_;
}

void WalCheckpointer::run() {
  std::optional<Database> connection;
  bool wal_too_long = false;
  auto next_restart = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    const bool last = wake_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    try {
      if (!connection) {
        connection.emplace(path_);
        connection->set_busy_timeout(kLongestWaitMs);
      }
      // A writer that commits all the time can keep PASSIVE checkpoints from ever catching up with the
      // WAL's end, and then the WAL never starts over; past the limit, one RESTART makes it. The last
      // checkpoint, at stop, is PASSIVE.
      const bool restart = wal_too_long && !last && std::chrono::steady_clock::now() >= next_restart;
      const Database::CheckpointOutcome outcome = connection->checkpoint(restart);
      wal_too_long = outcome.wal_frames > restart_above_frames_;
      if (restart && !outcome.finished) next_restart = std::chrono::steady_clock::now() + kRestartRetry;
      lock.lock();
      checkpoints_ += outcome.finished && outcome.copied > 0;
      lock.unlock();
    } catch (const std::exception& e) {
      // Retried at the next interval over a new connection; meanwhile the WAL only grows.
      spdlog::warn("WAL checkpoint of {} failed: {}", path_, excerpt(e.what(), 300));
      connection.reset();
    }
    lock.lock();
    if (last) return;
  }
}

}  // namespace cfm

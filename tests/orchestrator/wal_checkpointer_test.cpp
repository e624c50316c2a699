#include "orchestrator/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "common/store/sqlite.h"
#include "orchestrator/job_store.h"
#include "test_support.h"

namespace cfm {
namespace {

std::int64_t auto_checkpoint_pages(Database& db) {
  Statement s = db.prepare("PRAGMA wal_autocheckpoint");
  s.step();
  return s.integer(0);
}

// While a checkpointer runs, the writer never checkpoints (its automatic checkpoint is off), yet the
// database file receives the written pages: the checkpointer's own connection copied them.
TEST(WalCheckpointer, CopiesTheWalIntoTheDatabaseFileWhileTheWriterNeverCheckpoints) {
  test::TempDir dir;
  const std::filesystem::path path = dir / "r.sqlite";
  JobStore store(path);
  std::vector<JobSpec> jobs;
  for (int i = 0; i < 300; ++i)
    jobs.push_back({"key-" + std::to_string(i), {{"method", "noop"}}, {{"i", i}}});
  store.submit("g", "", jobs, 1, false, 0);
  ASSERT_TRUE(store.database().checkpoint(true).finished);
  const auto size_before = std::filesystem::file_size(path);
  {
    WalCheckpointer checkpointer(store.database(), std::chrono::milliseconds(5));
    EXPECT_EQ(auto_checkpoint_pages(store.database()), 0);
    while (auto lease = store.lease("w", "/runs", 60, 1, 1))
      ASSERT_TRUE(
          store.complete(lease->lease_id, net::JobResult::from_json({{"metrics", {{"i_auroc", 0.5}}}}), 2));
    for (int wait = 0; wait < 500 && std::filesystem::file_size(path) == size_before; ++wait)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GT(std::filesystem::file_size(path), size_before);
    EXPECT_GT(checkpointer.checkpoints(), 0);
  }
  EXPECT_EQ(auto_checkpoint_pages(store.database()), kSqliteDefaultAutoCheckpoint);  // given back
  EXPECT_EQ(store.counts("g").succeeded, 300);
}

// A RESTART waits for readers of an older snapshot while it keeps new writers out. With a reader that
// holds its snapshot (a report, a pandas session) and the WAL always past the restart limit, the writer
// still commits within its own busy timeout, and stopping does not wait for the reader either.
TEST(WalCheckpointer, AReaderHoldingASnapshotNeverStallsTheWriterOrTheStop) {
  test::TempDir dir;
  const std::filesystem::path path = dir / "r.sqlite";
  JobStore store(path);
  std::vector<JobSpec> jobs;
  for (int i = 0; i < 40; ++i) jobs.push_back({"key-" + std::to_string(i), {{"method", "noop"}}, {{"i", i}}});
  store.submit("g", "", jobs, 1, false, 0);
  store.database().set_busy_timeout(250);  // the coordinator's
  Database reader(path.string(), true);
  reader.exec("BEGIN");
  Statement snapshot = reader.prepare("SELECT COUNT(*) FROM jobs");
  ASSERT_TRUE(snapshot.step());
  std::optional<WalCheckpointer> checkpointer;
  checkpointer.emplace(store.database(), std::chrono::milliseconds(5), /*restart_above_frames=*/0);
  for (int i = 0; i < 40; ++i) {
    auto lease = store.lease("w", "/runs", 60, 1, 1);  // throws StoreBusyError when held off for 250 ms
    ASSERT_TRUE(lease);
    ASSERT_TRUE(
        store.complete(lease->lease_id, net::JobResult::from_json({{"metrics", {{"i_auroc", 0.5}}}}), 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto stop = std::chrono::steady_clock::now();
  checkpointer.reset();
  const auto stopped_in = std::chrono::steady_clock::now() - stop;
  EXPECT_LT(stopped_in, std::chrono::seconds(2));
  EXPECT_EQ(store.counts("g").succeeded, 40);
}

}  // namespace
}  // namespace cfm

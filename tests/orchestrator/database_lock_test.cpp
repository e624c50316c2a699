// Another process holding the results database (BEGIN EXCLUSIVE for 15 s, as a backup or a long query
// could) while a grid runs: reports that find the database locked are answered "retry later" and sent
// again, so the grid is delayed but no finished result is lost or run twice.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/store/sqlite.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

// -1 while the database is not there yet (cfm run creates the file before its tables).
std::int64_t scalar(const std::string& db_path, const std::string& sql) {
  try {
    Database db(db_path, true);
    Statement s = db.prepare(sql);
    return s.step() ? s.integer(0) : -1;
  } catch (const StoreError&) {
    return -1;
  }
}

TEST(DatabaseLock, AGridUnderA15SecondExclusiveLockIsDelayedButLosesNothing) {
  CFM_REQUIRE_PYTHON("sqlite3", "python3");
  test::TempDir dir;
  const int jobs = 24;
  std::string sleeps;
  for (int i = 0; i < jobs; ++i) sleeps += (i ? ", " : "") + std::to_string(300 + i);
  std::ofstream(dir / "grid.yaml")
      << "name: locked\nmax_attempts: 1\nfixed:\n  method: noop\naxes:\n  sleep_ms: [" << sleeps << "]\n";
  const std::string db = dir / "r.sqlite";
  ASSERT_EQ(test::run_command(
                fmt::format(
                    "({} run {} --db {} --runs {} --workers 2 --no-progress > {} 2>&1; "
                    "echo $? > {}) > /dev/null 2>&1 &",  // not holding the pipe: run_command returns at once
                    kCfm, dir / "grid.yaml", db, dir / "runs", dir / "run.log", dir / "exit"))
                .exit_code,
            0);
  // Once the first result is in, another process takes the write lock for 15 s.
  for (int i = 0; i < 300 && (!fs::exists(db) || scalar(db, "SELECT COUNT(*) FROM results") < 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::int64_t before = scalar(db, "SELECT COUNT(*) FROM results");
  ASSERT_GE(before, 1);
  auto start = std::chrono::steady_clock::now();
  auto lock = test::run_command("/usr/bin/python3 -c \"import sqlite3, time; c = sqlite3.connect('" + db +
                                "', isolation_level=None); c.execute('BEGIN EXCLUSIVE'); "
                                "time.sleep(15); c.execute('COMMIT')\"");
  ASSERT_EQ(lock.exit_code, 0) << lock.output;
  const double held = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(held, 15);
  EXPECT_LT(scalar(db, "SELECT COUNT(*) FROM results"), jobs);  // the lock did hold the grid up

  for (int i = 0; i < 1200 && !fs::exists(dir.path() / "exit"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::ifstream exit_file(dir / "exit"), log_file(dir / "run.log");
  std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
  int exit_code = -1;
  exit_file >> exit_code;
  EXPECT_EQ(exit_code, 0) << log;
  EXPECT_NE(log.find(fmt::format("{} succeeded, 0 failed", jobs)), std::string::npos) << log;
  // Every job recorded exactly once, on its first attempt: no report was lost (a lost result would have
  // cost the job an attempt, and with max_attempts 1 it would have failed).
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM results"), jobs);
  EXPECT_EQ(scalar(db, "SELECT COUNT(DISTINCT key) FROM results"), jobs);
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded' AND attempts = 1"), jobs);
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM attempts"), jobs);
}

}  // namespace
}  // namespace cfm

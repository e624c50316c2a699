// Thin RAII layer over the SQLite C API: a database handle and prepared statements with typed binding.
// Errors become cfm::StoreError naming the database file and SQLite's message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cfm {

class StoreError : public Error {
 public:
  using Error::Error;
};

// Another connection holds the lock longer than the busy timeout: nothing was written, and the same
// operation can simply be retried later.
class StoreBusyError : public StoreError {
 public:
  using StoreError::StoreError;
};

class Statement;

constexpr int kSqliteDefaultAutoCheckpoint = 1000;  // WAL pages

class Database {
 public:
  // Opens (creating if needed) with WAL journaling, a busy timeout and foreign keys on.
  explicit Database(const std::string& path, bool read_only = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  // Prepared statements are kept per SQL text and reused (reset when the Statement goes): the coordinator
  // runs the same dozen statements for every job, and preparing them each time was the largest part of
  // its per-job cost. A statement still in use when the same SQL is prepared again is prepared afresh.
  // How long an operation waits for another connection's lock before StoreBusyError (default 10 s).
  void set_busy_timeout(int milliseconds);
  Statement prepare(const std::string& sql);
  std::int64_t changes() const;
  // WAL pages after which a commit runs a checkpoint itself (0: never; SQLite's default is 1000).
  void set_auto_checkpoint(int pages);
  // One checkpoint: PASSIVE (copies what it can without waiting for anyone) or RESTART (waits, within the
  // busy timeout, for the writer and readers, so that the next commit starts the WAL from its beginning).
  struct CheckpointOutcome {
    int wal_frames = 0;  // frames in the WAL (-1: not in WAL mode)
    int copied = 0;      // of which are now in the database file
    bool finished = true;
  };
  CheckpointOutcome checkpoint(bool restart);
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  std::unordered_map<std::string, CachedStatement> statements_;
  friend class Statement;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed without commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

// BEGIN ... COMMIT around reads: every read in between sees the database as it was at the first one (a
// WAL snapshot), while the coordinator goes on writing. For reading a running grid consistently.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Database& db_;
};

class Statement {
 public:
  // `in_use`: the cache entry's flag for a cached statement (reset and handed back on destruction),
  // nullptr for one of its own (finalized).
  Statement(Database& db, sqlite3_stmt* stmt, bool* in_use = nullptr)
      : db_(&db), stmt_(stmt), in_use_(in_use) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_) {
    other.stmt_ = nullptr;
    other.in_use_ = nullptr;
  }
  ~Statement();

  // Binds parameters 1..n in order; returns *this for chaining.
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, const char* value) { return bind(index, std::string(value)); }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  bool step();  // true while a row is available
  void run();   // step to completion
  void reset();

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  double real(int column) const;
  bool is_null(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

}  // namespace cfm

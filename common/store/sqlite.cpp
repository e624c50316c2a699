#include "common/store/sqlite.h"

#include <sqlite3.h>

namespace cfm {

Database::Database(const std::string& path, bool read_only) : path_(path) {
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path + ": cannot open the results database: " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
  if (!read_only) exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  exec("PRAGMA foreign_keys=ON;");
}

Database::~Database() {
  for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

namespace {

bool is_busy(int code) {
  code &= 0xff;  // the primary code of an extended one
  return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

}  // namespace

void Database::fail(const std::string& what) const {
  std::string message = path_ + ": " + what + ": " + sqlite3_errmsg(db_);
  if (is_busy(sqlite3_extended_errcode(db_))) throw StoreBusyError(message);
  throw StoreError(message);
}

void Database::exec(const std::string& sql) {
  char* error = nullptr;
  const int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (code != SQLITE_OK) {
    std::string message =
        path_ + ": " + (error ? error : "unknown error") + " (in: " + sql.substr(0, 80) + ")";
    sqlite3_free(error);
    if (is_busy(code)) throw StoreBusyError(message);
    throw StoreError(message);
  }
}

void Database::set_busy_timeout(int milliseconds) { sqlite3_busy_timeout(db_, milliseconds); }

Statement Database::prepare(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found != statements_.end() && !found->second.in_use) {
    found->second.in_use = true;
    return Statement(*this, found->second.stmt, &found->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
    fail("cannot prepare '" + sql.substr(0, 80) + "'");
  if (found != statements_.end() || !stmt) return Statement(*this, stmt);  // in use, or empty SQL: not kept
  CachedStatement& cached = statements_[sql];
  cached = {stmt, true};
  return Statement(*this, stmt, &cached.in_use);
}

std::int64_t Database::changes() const { return sqlite3_changes(db_); }

void Database::set_auto_checkpoint(int pages) { sqlite3_wal_autocheckpoint(db_, pages); }

Database::CheckpointOutcome Database::checkpoint(bool restart) {
  int wal_frames = 0, copied = 0;
  const int code = sqlite3_wal_checkpoint_v2(
      db_, nullptr, restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
  if (is_busy(code)) return {wal_frames, copied, false};  // a writer or reader kept it from finishing
  if (code != SQLITE_OK) fail("WAL checkpoint failed");
  return {wal_frames, copied, true};
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

ReadSnapshot::ReadSnapshot(Database& db) : db_(db) { db_.exec("BEGIN"); }

ReadSnapshot::~ReadSnapshot() {
  try {
    db_.exec("COMMIT");
  } catch (...) {  // nothing was written: ending the read cannot lose anything
  }
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

Statement::~Statement() {
  if (!in_use_) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

Statement& Statement::bind(int index, const std::string& value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK)
    db_->fail("bind");
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) db_->fail("bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail("statement failed");
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int column) const {
  const unsigned char* t = sqlite3_column_text(stmt_, column);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }
bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

}  // namespace cfm

// The results database schema (documented for users in docs/results-schema.md). The version lives in
// PRAGMA user_version; migrate() applies every forward migration in order, each in one transaction, so a
// database written by an older cfm opens in a newer one. A database newer than this cfm is refused.
#pragma once

namespace cfm {

class Database;

constexpr int kSchemaVersion = 6;

void migrate(Database& db);

// For readers that must not write (reports, `cfm status --db`): throws FormatError naming the file when
// the database has no cfm schema or one newer than this cfm. Older versions are readable as they are.
void check_readable_schema(Database& db);

}  // namespace cfm

// The ledger's schema version and migrations: applied in order in one
// transaction, only the missing ones, and a newer file is refused untouched.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qtriage/daemon/ledger.hpp"
#include "ledger_test_support.hpp"

namespace qtriage::daemon {
namespace {

namespace fs = std::filesystem;

using test_support::RawDb;
using test_support::TempDir;

bool has_table(RawDb& raw, const std::string& name) {
  return raw.text("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + name +
                  "'") == "1";
}

// The shipped migrations plus two steps a later build might add, numbered
// kNotes and kColumn.
const int kNotes = latest_schema_version() + 1;
const int kColumn = latest_schema_version() + 2;
std::vector<Migration> later_build() {
  const auto shipped = builtin_migrations();
  std::vector<Migration> migrations(shipped.begin(), shipped.end());
  migrations.push_back(
      Migration{kNotes, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"});
  migrations.push_back(
      Migration{kColumn, "a column", "ALTER TABLE actions ADD COLUMN reviewer TEXT;"});
  return migrations;
}

// A file as the first release wrote it: schema version 1.
LedgerOptions first_release() {
  LedgerOptions options;
  options.migrations = builtin_migrations().first(1);
  return options;
}

api::Timestamp at(std::int64_t ms) { return api::Timestamp{std::chrono::milliseconds{ms}}; }

TEST(LedgerMigration, BuiltinMigrationsAreNumberedFromOne) {
  const auto migrations = builtin_migrations();
  ASSERT_FALSE(migrations.empty());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(migrations[i].description.empty());
  }
  EXPECT_EQ(latest_schema_version(), migrations.back().version);
}

TEST(LedgerMigration, AnEmptyFileGetsTheLatestSchema) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { std::ofstream touch{path}; }  // zero bytes: SQLite treats it as a new database
  auto ledger = Ledger::open(path);
  ASSERT_TRUE(ledger) << ledger.error().to_string();
  EXPECT_EQ(ledger->schema_version(), latest_schema_version());
}

TEST(LedgerMigration, AppliesOnlyTheMissingMigrationsAndKeepsData) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto ledger = Ledger::open(path, first_release()).value();
    ASSERT_EQ(ledger.schema_version(), 1);
    ASSERT_TRUE(ledger.set_checkpoint("acct", at(1000), at(1000)));
    DecisionRecord held;
    held.investigate_id = "m1";
    held.account_id = "acct";
    held.kind = ActionKind::release;
    held.action = "release";
    held.rule = "r";
    held.cycle_id = "c1";
    held.state = ActionState::held;  // over a cap in version 1: waits for an approval
    held.decided_at = at(1000);
    ASSERT_TRUE(ledger.record_decisions(std::span(&held, 1)));
  }
  const auto migrations = later_build();
  LedgerOptions options;
  options.migrations = migrations;
  {
    auto ledger = Ledger::open(path, options);
    ASSERT_TRUE(ledger) << ledger.error().to_string();
    EXPECT_EQ(ledger->schema_version(), kColumn);
    EXPECT_EQ(ledger->checkpoint("acct").value(), at(1000));
    // Migration 2 counts version 1's cycles as cap-checked: the held row
    // still waits for its approval and is not taken into a new cycle.
    EXPECT_TRUE(ledger->adopt_unchecked("acct", "c2", at(2000)).value().empty());
    EXPECT_EQ(ledger->held().value().size(), 1u);
  }
  RawDb raw{path};
  EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(kColumn));
  EXPECT_TRUE(has_table(raw, "notes"));
  EXPECT_EQ(raw.text("SELECT count(*) FROM pragma_table_info('actions') WHERE name = 'reviewer'"),
            "1");
  // Opening again applies nothing (kNotes would fail: the table exists).
  auto again = Ledger::open(path, options);
  EXPECT_TRUE(again) << again.error().to_string();
}

TEST(LedgerMigration, AFailingMigrationRollsBackEveryStep) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { ASSERT_TRUE(Ledger::open(path, first_release())); }
  auto migrations = later_build();
  migrations.back().sql = "ALTER TABLE no_such_table ADD COLUMN x TEXT;";
  LedgerOptions options;
  options.migrations = migrations;
  auto ledger = Ledger::open(path, options);
  ASSERT_FALSE(ledger);
  EXPECT_NE(ledger.error().step.find("migrate to schema version " + std::to_string(kColumn) +
                                     " (a column)"),
            std::string::npos)
      << ledger.error().to_string();
  EXPECT_NE(ledger.error().message.find("no_such_table"), std::string::npos);
  RawDb raw{path};
  EXPECT_EQ(raw.text("PRAGMA user_version"), "1");
  EXPECT_FALSE(has_table(raw, "notes"));       // kNotes went back with kColumn
  EXPECT_FALSE(has_table(raw, "cap_checks"));  // and so did the shipped ones after 1
  EXPECT_FALSE(has_table(raw, "deferred"));
  // The shipped build still opens it.
  EXPECT_TRUE(Ledger::open(path));
}

TEST(LedgerMigration, ANewerSchemaIsRefusedAndLeftUntouched) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    RawDb raw{path};
    ASSERT_EQ(raw.exec("CREATE TABLE future (x); PRAGMA user_version = 99;"), SQLITE_OK);
  }
  auto ledger = Ledger::open(path);
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().file, path);
  EXPECT_NE(ledger.error().message.find("schema version 99 is newer than this build knows (" +
                                        std::to_string(latest_schema_version()) + ")"),
            std::string::npos)
      << ledger.error().to_string();
  RawDb raw{path};
  EXPECT_EQ(raw.text("PRAGMA user_version"), "99");
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "delete");  // not even switched to WAL
  EXPECT_FALSE(has_table(raw, "actions"));
}

TEST(LedgerMigration, MigrationsOutOfOrderAreRefused) {
  const std::array migrations{Migration{1, "one", "CREATE TABLE a (x);"},
                              Migration{3, "three", "CREATE TABLE b (x);"}};
  LedgerOptions options;
  options.migrations = migrations;
  auto ledger = Ledger::open(":memory:", options);
  ASSERT_FALSE(ledger);
  EXPECT_NE(ledger.error().message.find("has version 3, expected 2"), std::string::npos)
      << ledger.error().to_string();
}

TEST(LedgerMigration, ACorruptHeaderIsRefusedClearly) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    std::ofstream out{path, std::ios::binary};
    out.write("SQLite format 3", 16);  // the magic with its NUL, then nonsense
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(0xA5));
  }
  auto ledger = Ledger::open(path);
  ASSERT_FALSE(ledger);
  EXPECT_NE(ledger.error().message.find("not an SQLite database, or corrupt"), std::string::npos)
      << ledger.error().to_string();
}

}  // namespace
}  // namespace qtriage::daemon

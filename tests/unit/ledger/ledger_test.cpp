// The ledger: recording decisions, the state machine, held decisions, the
// audit queries, checkpoints, and that what is committed survives a crash.

#include "qtriage/daemon/ledger.hpp"

#include "ledger_test_support.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace qtriage::daemon {
namespace {

namespace fs = std::filesystem;

api::Timestamp at(std::int64_t ms) { return api::Timestamp{std::chrono::milliseconds{ms}}; }

using test_support::RawDb;
using test_support::TempDir;

std::string action_text(ActionKind kind) {
  switch (kind) {
    case ActionKind::move:
      return "move JunkEmail";
    case ActionKind::release:
      return "release";
    case ActionKind::reclassify:
      return "reclassify NONE";
    case ActionKind::ignore:
      return "ignore";
  }
  return "ignore";
}

struct D {  // a decision with defaults; change what a test cares about
  std::string id;
  ActionKind kind = ActionKind::move;
  std::string rule = "junk-bulk";
  std::string cycle = "c1";
  ActionState state = ActionState::decided;
  std::int64_t ms = 1000;
  std::string account = "acct-a";

  operator DecisionRecord() const {  // NOLINT: implicit on purpose, for brevity
    return DecisionRecord{id,   "pf-" + id, account, kind,  action_text(kind),
                          rule, "v7",       cycle,   state, at(ms)};
  }
};

std::vector<DecisionRecord> records(std::initializer_list<D> decisions) {
  return {decisions.begin(), decisions.end()};
}

std::vector<std::string> ids_of(const std::vector<ActionRow>& rows) {
  std::vector<std::string> ids;
  for (const ActionRow& row : rows) ids.push_back(row.investigate_id);
  return ids;
}

Ledger open_memory() {
  auto ledger = Ledger::open(":memory:");
  if (!ledger) throw std::runtime_error(ledger.error().to_string());
  return std::move(*ledger);
}

ActionState state_of(Ledger& ledger, const std::string& id, ActionKind kind = ActionKind::move) {
  auto row = ledger.find(id, kind).value();
  if (!row) throw std::runtime_error("no row for " + id);
  return row->state;
}

// ---- open ----------------------------------------------------------------------------

TEST(LedgerOpen, CreatesTheFileWithTheSchemaAndVersion) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto ledger = Ledger::open(path);
    ASSERT_TRUE(ledger) << ledger.error().to_string();
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    EXPECT_EQ(ledger->path(), path);
  }
  ASSERT_TRUE(fs::exists(path));
  RawDb raw{path};
  EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(latest_schema_version()));
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                     "name IN ('actions', 'checkpoints')"),
            "2");
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                     "name LIKE 'actions_by_%'"),
            "4");
}

TEST(LedgerOpen, WalModeIsOnForAFile) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  auto ledger = Ledger::open(path);
  ASSERT_TRUE(ledger) << ledger.error().to_string();
  EXPECT_EQ(ledger->journal_mode(), "wal");
  RawDb raw{path};  // WAL is a property of the file: another connection sees it
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
}

TEST(LedgerOpen, MemoryDatabaseWorks) {
  Ledger ledger = open_memory();
  EXPECT_EQ(ledger.journal_mode(), "memory");
  EXPECT_EQ(ledger.schema_version(), latest_schema_version());
  EXPECT_TRUE(ledger.record_decisions(records({{"m1"}})));
}

TEST(LedgerOpen, ReopenKeepsData) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto ledger = Ledger::open(path).value();
    ASSERT_TRUE(ledger.record_decisions(records({{"m1"}, {"m2", ActionKind::release}})));
    ASSERT_TRUE(ledger.set_checkpoint("acct-a", at(5000), at(5001)));
  }
  auto ledger = Ledger::open(path).value();
  EXPECT_TRUE(ledger.already_decided("m1").value());
  EXPECT_TRUE(ledger.already_decided("m2").value());
  EXPECT_EQ(ledger.checkpoint("acct-a").value(), at(5000));
}

TEST(LedgerOpen, NonSqliteFileIsRefusedClearly) {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  {
    std::ofstream out{path};
    for (int i = 0; i < 200; ++i) out << "this is not a database, it is a text file\n";
  }
  auto ledger = Ledger::open(path);
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().file, path);
  EXPECT_NE(ledger.error().message.find("not an SQLite database"), std::string::npos)
      << ledger.error().to_string();
  EXPECT_NE(ledger.error().to_string().find(path), std::string::npos);
  EXPECT_NE(ledger.error().sqlite_code, 0);
}

TEST(LedgerOpen, MissingFolderIsAnErrorNotAThrow) {
  TempDir dir;
  const std::string path = dir.file("no/such/folder/state.db");
  auto ledger = Ledger::open(path);
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().file, path);
  EXPECT_EQ(ledger.error().step, "open");
  EXPECT_NE(ledger.error().message.find("unable to open"), std::string::npos)
      << ledger.error().to_string();
}

// ---- recording ------------------------------------------------------------------------

TEST(LedgerRecord, RecordsAndReportsWhatIsNew) {
  Ledger ledger = open_memory();
  auto first = ledger.record_decisions(records({{"m1"}, {"m2"}}));
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->recorded, (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(first->already_recorded.empty());

  auto row = ledger.find("m1", ActionKind::move).value();
  ASSERT_TRUE(row);
  EXPECT_EQ(row->postfix_id, "pf-m1");
  EXPECT_EQ(row->account_id, "acct-a");
  EXPECT_EQ(row->action, "move JunkEmail");
  EXPECT_EQ(row->rule, "junk-bulk");
  EXPECT_EQ(row->rule_set_version, "v7");
  EXPECT_EQ(row->cycle_id, "c1");
  EXPECT_EQ(row->state, ActionState::decided);
  EXPECT_EQ(row->attempts, 0);
  EXPECT_EQ(row->created_at, at(1000));
  EXPECT_EQ(row->updated_at, at(1000));
  EXPECT_TRUE(row->outcome.empty());
}

TEST(LedgerRecord, IsIdempotent) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1"}, {"m2"}})));
  // The same (id, kind) again, even from another rule or cycle: ignored and reported.
  auto again = ledger.record_decisions(
      records({{"m2", ActionKind::move, "other-rule", "c2"}, {"m3"}, {"m3"}, {"m1"}}));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->recorded, (std::vector<std::size_t>{1}));
  EXPECT_EQ(again->already_recorded, (std::vector<std::size_t>{0, 2, 3}));
  EXPECT_EQ(ledger.find("m2", ActionKind::move).value()->rule, "junk-bulk");
  EXPECT_EQ(ledger.query({}).value().size(), 3u);
}

TEST(LedgerRecord, OneRowPerKind) {
  Ledger ledger = open_memory();
  auto outcome =
      ledger.record_decisions(records({{"m1", ActionKind::move}, {"m1", ActionKind::reclassify}}));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->recorded.size(), 2u);
  EXPECT_TRUE(ledger.find("m1", ActionKind::reclassify).value());
  EXPECT_FALSE(ledger.find("m1", ActionKind::release).value());
}

TEST(LedgerRecord, RefusesABadBatchAndRecordsNothing) {
  Ledger ledger = open_memory();
  auto sent = ledger.record_decisions(
      records({{"m1"}, {"m2", ActionKind::move, "r", "c", ActionState::sent}}));
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message.find("starts in state sent"), std::string::npos);
  auto empty_id = ledger.record_decisions(records({{"m1"}, {""}}));
  ASSERT_FALSE(empty_id);
  EXPECT_NE(empty_id.error().message.find("no investigate id"), std::string::npos);
  EXPECT_FALSE(ledger.already_decided("m1").value());
}

TEST(LedgerRecord, EmptyBatchIsFine) {
  Ledger ledger = open_memory();
  auto outcome = ledger.record_decisions({});
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->recorded.empty());
}

TEST(LedgerRecord, IgnoreIsStoredAsSkippedAndCountsAsDecided) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1", ActionKind::ignore}})));
  EXPECT_EQ(state_of(ledger, "m1", ActionKind::ignore), ActionState::skipped);
  EXPECT_TRUE(ledger.already_decided("m1").value());
  EXPECT_TRUE(ledger.pending().value().empty());
}

TEST(LedgerRecord, AlreadyDecided) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(
      ledger.record_decisions(records({{"m1"},
                                       {"m2", ActionKind::release, "r", "c", ActionState::would_do},
                                       {"m3", ActionKind::move, "r", "c", ActionState::held}})));
  EXPECT_TRUE(ledger.already_decided("m1").value());
  EXPECT_TRUE(ledger.already_decided("m2").value());
  EXPECT_TRUE(ledger.already_decided("m3").value());
  EXPECT_FALSE(ledger.already_decided("m4").value());
  const std::vector<std::string> page{"m4", "m3", "m5", "m1"};
  EXPECT_EQ(ledger.already_decided(page).value(), (std::vector<std::string>{"m3", "m1"}));
}

TEST(LedgerRecord, TenThousandInOneCall) {
  TempDir dir;
  auto ledger = Ledger::open(dir.file("state.db")).value();
  std::vector<DecisionRecord> batch;
  for (int i = 0; i < 10000; ++i) {
    batch.push_back(D{"id-" + std::to_string(i),
                      i % 2 == 0 ? ActionKind::move : ActionKind::release, "r", "c1",
                      ActionState::decided, 1000 + i});
  }
  auto outcome = ledger.record_decisions(batch);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(outcome->recorded.size(), 10000u);
  EXPECT_EQ(ledger.counts_by_state().value()[ActionState::decided], 10000);
  auto again = ledger.record_decisions(batch).value();
  EXPECT_EQ(again.already_recorded.size(), 10000u);
  auto pending = ledger.pending(3).value();
  EXPECT_EQ(ids_of(pending), (std::vector<std::string>{"id-0", "id-1", "id-2"}));
}

// ---- the state machine ------------------------------------------------------------------

TEST(LedgerStates, DecidedSentDone) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1"}, {"m2"}, {"m3", ActionKind::release}})));
  const std::vector<std::string> ids{"m1", "m2", "m3"};
  EXPECT_EQ(ledger.mark_sent(ids, ActionKind::move, at(2000)).value(), 2u);  // m3 is a release
  EXPECT_EQ(state_of(ledger, "m1"), ActionState::sent);
  EXPECT_EQ(state_of(ledger, "m3", ActionKind::release), ActionState::decided);

  const std::vector<ActionSuccess> done{{"m1", ActionKind::move, R"({"success":true})"},
                                        {"m2", ActionKind::move, R"({"success":true})"}};
  EXPECT_EQ(ledger.mark_done(done, at(3000)).value(), 2u);
  auto row = ledger.find("m1", ActionKind::move).value();
  EXPECT_EQ(row->state, ActionState::done);
  EXPECT_EQ(row->outcome, R"({"success":true})");
  EXPECT_EQ(row->updated_at, at(3000));
  EXPECT_EQ(row->created_at, at(1000));
  // done is final: neither sent nor done again.
  EXPECT_EQ(ledger.mark_sent(ids, ActionKind::move, at(4000)).value(), 0u);
  EXPECT_FALSE(ledger.mark_done("m1", ActionKind::move, "again", at(4000)).value());
  EXPECT_EQ(ledger.find("m1", ActionKind::move).value()->outcome, R"({"success":true})");
}

TEST(LedgerStates, DoneStraightFromDecided) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1", ActionKind::release}})));
  EXPECT_TRUE(ledger.mark_done("m1", ActionKind::release, "delivered", at(2000)).value());
  EXPECT_EQ(state_of(ledger, "m1", ActionKind::release), ActionState::done);
  EXPECT_FALSE(ledger.mark_done("nope", ActionKind::release, "delivered", at(2000)).value());
}

TEST(LedgerStates, FailedIsRetriedUpToTheLimitThenFailedForGood) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1"}})));
  const std::vector<std::string> ids{"m1"};
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_EQ(ledger.mark_sent(ids, ActionKind::move, at(1000 + attempt)).value(), 1u);
    auto state = ledger.mark_failed("m1", ActionKind::move, "http 503", 3, at(1100 + attempt));
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_EQ(*state, ActionState::decided) << "attempt " << attempt;
    EXPECT_EQ(ledger.pending().value().size(), 1u);
  }
  ASSERT_EQ(ledger.mark_sent(ids, ActionKind::move, at(1003)).value(), 1u);
  EXPECT_EQ(ledger.mark_failed("m1", ActionKind::move, "http 400: [1004] bad", 3, at(1103)).value(),
            ActionState::failed);
  auto row = ledger.find("m1", ActionKind::move).value();
  EXPECT_EQ(row->attempts, 3);
  EXPECT_EQ(row->error, "http 400: [1004] bad");
  EXPECT_TRUE(ledger.pending().value().empty());
  // failed for good: no more attempts counted, nothing pending.
  EXPECT_EQ(ledger.mark_failed("m1", ActionKind::move, "again", 3, at(1200)).value(), std::nullopt);
  EXPECT_EQ(ledger.mark_sent(ids, ActionKind::move, at(1200)).value(), 0u);
  EXPECT_EQ(ledger.find("m1", ActionKind::move).value()->attempts, 3);
}

TEST(LedgerStates, MarkFailedInBulk) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1"}, {"m2"}})));
  const std::vector<ActionFailure> failures{
      {"m1", ActionKind::move, "undelivered", R"({"status":"undelivered"})"},
      {"m2", ActionKind::move, "reset", ""},
      {"m9", ActionKind::move, "unknown id", ""}};
  auto tally = ledger.mark_failed(failures, 1, at(2000));
  ASSERT_TRUE(tally) << tally.error().to_string();
  EXPECT_EQ(tally->failed_for_good, 2u);
  EXPECT_EQ(tally->retrying, 0u);
  EXPECT_EQ(tally->not_pending, 1u);
  EXPECT_EQ(ledger.find("m1", ActionKind::move).value()->outcome, R"({"status":"undelivered"})");
  EXPECT_EQ(ledger.counts_by_state().value()[ActionState::failed], 2);
}

TEST(LedgerStates, MaxAttemptsBelowOneIsRefused) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"m1"}})));
  auto state = ledger.mark_failed("m1", ActionKind::move, "x", 0, at(2000));
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find("max_attempts"), std::string::npos);
  EXPECT_EQ(state_of(ledger, "m1"), ActionState::decided);
}

TEST(LedgerStates, WouldDoAndSkippedAreNeverPendingOrSent) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(
      ledger.record_decisions(records({{"m1", ActionKind::move, "r", "c", ActionState::would_do},
                                       {"m2", ActionKind::move, "r", "c", ActionState::skipped}})));
  EXPECT_TRUE(ledger.pending().value().empty());
  const std::vector<std::string> ids{"m1", "m2"};
  EXPECT_EQ(ledger.mark_sent(ids, ActionKind::move, at(2000)).value(), 0u);
  EXPECT_EQ(state_of(ledger, "m1"), ActionState::would_do);
}

TEST(LedgerStates, PendingIsOldestFirstWithLimitAndAccount) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(
      records({{"late", ActionKind::move, "r", "c", ActionState::decided, 3000},
               {"early", ActionKind::release, "r", "c", ActionState::decided, 1000},
               {"other", ActionKind::move, "r", "c", ActionState::decided, 2000, "acct-b"},
               {"held", ActionKind::move, "r", "c", ActionState::held, 500},
               {"done", ActionKind::move, "r", "c", ActionState::decided, 100}})));
  ASSERT_TRUE(ledger.mark_done("done", ActionKind::move, "ok", at(200)).value());
  const std::vector<std::string> sent{"late"};
  ASSERT_EQ(ledger.mark_sent(sent, ActionKind::move, at(4000)).value(), 1u);
  EXPECT_EQ(ids_of(ledger.pending().value()), (std::vector<std::string>{"early", "other", "late"}));
  EXPECT_EQ(ids_of(ledger.pending(2).value()), (std::vector<std::string>{"early", "other"}));
  EXPECT_EQ(ids_of(ledger.pending(std::nullopt, "acct-a").value()),
            (std::vector<std::string>{"early", "late"}));
}

// A crash between record and call (or between call and outcome): the process
// ends without marking anything; the reopened ledger still has it pending.
TEST(LedgerStates, PendingSurvivesASimulatedCrash) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto ledger = Ledger::open(path).value();
    ASSERT_TRUE(ledger.record_decisions(records({{"m1"}, {"m2"}, {"m3"}})));
    const std::vector<std::string> sent{"m2"};
    ASSERT_TRUE(ledger.mark_sent(sent, ActionKind::move, at(2000)));
    ASSERT_TRUE(ledger.mark_done("m3", ActionKind::move, "ok", at(2000)));
  }
  auto ledger = Ledger::open(path).value();
  auto pending = ledger.pending().value();
  ASSERT_EQ(ids_of(pending), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(pending[0].state, ActionState::decided);
  EXPECT_EQ(pending[1].state, ActionState::sent);
}

// The write-ahead promise: once record_decisions() returned, the decisions are
// in the file, even if the process dies at once without closing anything.
TEST(LedgerStates, CommittedDecisionsSurviveAProcessThatDies) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  for (const bool kill_it : {false, true}) {
    const std::string id = kill_it ? "killed" : "exited";
    const pid_t child = ::fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
      auto ledger = Ledger::open(path);
      if (!ledger) ::_exit(2);
      std::vector<DecisionRecord> batch;
      for (int i = 0; i < 100; ++i) batch.push_back(D{id + "-" + std::to_string(i)});
      if (!ledger->record_decisions(batch)) ::_exit(3);
      if (kill_it) ::raise(SIGKILL);
      ::_exit(0);  // no destructor: the connection is never closed
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    if (kill_it) {
      ASSERT_TRUE(WIFSIGNALED(status));
    } else {
      ASSERT_TRUE(WIFEXITED(status));
      ASSERT_EQ(WEXITSTATUS(status), 0);
    }
    auto ledger = Ledger::open(path);
    ASSERT_TRUE(ledger) << ledger.error().to_string();
    EXPECT_TRUE(ledger->already_decided(id + "-0").value());
    EXPECT_TRUE(ledger->already_decided(id + "-99").value());
    AuditQuery all;
    EXPECT_EQ(ledger->query(all).value().size(), kill_it ? 200u : 100u);
  }
}

// ---- held decisions -----------------------------------------------------------------------

class LedgerHeld : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.record_decisions(
        records({{"a1", ActionKind::move, "bulk", "c1", ActionState::held, 1000},
                 {"a2", ActionKind::release, "release-clean", "c1", ActionState::held, 1001},
                 {"b1", ActionKind::move, "bulk", "c2", ActionState::held, 1002},
                 {"b2", ActionKind::move, "other", "c2", ActionState::held, 1003},
                 {"x1", ActionKind::move, "bulk", "c1", ActionState::decided, 1004}})));
  }
  Ledger ledger_ = open_memory();
};

TEST_F(LedgerHeld, HeldAreListedAndNotPending) {
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"a1", "a2", "b1", "b2"}));
  EXPECT_EQ(ids_of(ledger_.held(1).value()), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(ids_of(ledger_.pending().value()), (std::vector<std::string>{"x1"}));
  // Held decisions are not carried out: not sent, not done.
  const std::vector<std::string> ids{"a1"};
  EXPECT_EQ(ledger_.mark_sent(ids, ActionKind::move, at(2000)).value(), 0u);
  EXPECT_FALSE(ledger_.mark_done("a1", ActionKind::move, "ok", at(2000)).value());
}

TEST_F(LedgerHeld, ApproveByCycle) {
  EXPECT_EQ(ledger_.resolve_held_cycle("c1", Ledger::HeldVerdict::approve, at(2000)).value(), 2u);
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(ids_of(ledger_.pending().value()), (std::vector<std::string>{"a1", "a2", "x1"}));
  EXPECT_EQ(ledger_.find("a1", ActionKind::move).value()->updated_at, at(2000));
  EXPECT_EQ(ledger_.resolve_held_cycle("c1", Ledger::HeldVerdict::approve, at(2001)).value(), 0u);
}

TEST_F(LedgerHeld, ApproveByRule) {
  EXPECT_EQ(ledger_.resolve_held_rule("bulk", Ledger::HeldVerdict::approve, at(2000)).value(), 2u);  // x1 was not held
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"a2", "b2"}));
}

TEST_F(LedgerHeld, ApproveByIds) {
  const std::vector<std::string> ids{"a2", "b2", "x1", "nope"};
  EXPECT_EQ(ledger_.resolve_held_ids(ids, Ledger::HeldVerdict::approve, at(2000)).value(), 2u);
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(state_of(ledger_, "a2", ActionKind::release), ActionState::decided);
}

// Discarded held rows end skipped, with the reason, and are never pending
// or held again; the message counts as decided, so no cycle decides it anew.
TEST_F(LedgerHeld, DiscardEndsHeldRowsSkippedWithTheReason) {
  EXPECT_EQ(ledger_.resolve_held_rule("bulk", Ledger::HeldVerdict::discard, at(2000)).value(), 2u);
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"a2", "b2"}));
  EXPECT_EQ(ids_of(ledger_.pending().value()), (std::vector<std::string>{"x1"}));  // x1 was not held
  const auto a1 = ledger_.find("a1", ActionKind::move).value();
  ASSERT_TRUE(a1);
  EXPECT_EQ(a1->state, ActionState::skipped);
  EXPECT_EQ(a1->outcome, "discarded by an operator");
  EXPECT_EQ(a1->updated_at, at(2000));
  EXPECT_TRUE(ledger_.already_decided("a1").value());
  // Discarded stays discarded: an approval afterwards changes nothing.
  const std::vector<std::string> ids{"a1", "b1"};
  EXPECT_EQ(ledger_.resolve_held_ids(ids, Ledger::HeldVerdict::approve, at(2001)).value(), 0u);
  EXPECT_EQ(ledger_.resolve_held_cycle("c2", Ledger::HeldVerdict::discard, at(2002)).value(), 1u);
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"a2"}));
}

TEST_F(LedgerHeld, ReleaseCycleKeepsTheRulesAskedAndChecksTheCycle) {
  const std::vector<std::string> keep{"release-clean"};
  EXPECT_EQ(ledger_.release_cycle("c1", keep, at(2000)).value(), 1u);  // a1 only
  EXPECT_EQ(state_of(ledger_, "a1"), ActionState::decided);
  EXPECT_EQ(state_of(ledger_, "a2", ActionKind::release), ActionState::held);
  // c1 went through its caps: a later cycle does not take a2 over.
  EXPECT_EQ(ids_of(ledger_.adopt_unchecked("acct-a", "c3", at(3000)).value()),
            (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(ledger_.find("a2", ActionKind::release).value()->cycle_id, "c1");
}

TEST_F(LedgerHeld, ACycleCutOffBeforeItsCapsIsAdoptedByTheNextOfItsAccount) {
  // c1 tripped its cap (checked, held until approved); c2 was killed first.
  ASSERT_TRUE(ledger_.hold_cycle("c1", "acct-a", at(1500)));
  EXPECT_TRUE(ledger_.adopt_unchecked("acct-b", "c3", at(2000)).value().empty());
  const auto adopted = ledger_.adopt_unchecked("acct-a", "c3", at(2000)).value();
  EXPECT_EQ(ids_of(adopted), (std::vector<std::string>{"b1", "b2"}));
  for (const auto& row : adopted) {
    EXPECT_EQ(row.cycle_id, "c3");
    EXPECT_EQ(row.state, ActionState::held);
  }
  // Adopted rows follow c3's cap check; c1's stay held.
  EXPECT_EQ(ledger_.release_cycle("c3", {}, at(2001)).value(), 2u);
  EXPECT_EQ(ids_of(ledger_.held().value()), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_TRUE(ledger_.adopt_unchecked("acct-a", "c4", at(3000)).value().empty());
}

// ---- reading -------------------------------------------------------------------------------

TEST(LedgerRead, CountsByState) {
  Ledger ledger = open_memory();
  auto empty = ledger.counts_by_state().value();
  EXPECT_EQ(empty.size(), action_state_count);
  for (const auto& [state, count] : empty) EXPECT_EQ(count, 0) << to_string(state);
  ASSERT_TRUE(
      ledger.record_decisions(records({{"m1"},
                                       {"m2"},
                                       {"m3"},
                                       {"m4", ActionKind::move, "r", "c", ActionState::held},
                                       {"m5", ActionKind::move, "r", "c", ActionState::would_do},
                                       {"m6", ActionKind::ignore}})));
  const std::vector<std::string> sent{"m1", "m2"};
  ASSERT_TRUE(ledger.mark_sent(sent, ActionKind::move, at(2000)));
  ASSERT_TRUE(ledger.mark_done("m1", ActionKind::move, "ok", at(2000)));
  auto counts = ledger.counts_by_state().value();
  EXPECT_EQ(counts[ActionState::decided], 1);
  EXPECT_EQ(counts[ActionState::sent], 1);
  EXPECT_EQ(counts[ActionState::done], 1);
  EXPECT_EQ(counts[ActionState::held], 1);
  EXPECT_EQ(counts[ActionState::would_do], 1);
  EXPECT_EQ(counts[ActionState::skipped], 1);
  EXPECT_EQ(counts[ActionState::failed], 0);
}

TEST(LedgerRead, QueryFilters) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(
      records({{"m1", ActionKind::move, "bulk", "c1", ActionState::decided, 1000},
               {"m2", ActionKind::release, "clean", "c1", ActionState::decided, 2000},
               {"m3", ActionKind::move, "bulk", "c2", ActionState::would_do, 3000, "acct-b"},
               {"m4", ActionKind::move, "bulk", "c2", ActionState::decided, 4000}})));
  const auto ids = [&](const AuditQuery& filter) { return ids_of(ledger.query(filter).value()); };
  using V = std::vector<std::string>;
  AuditQuery q;  // (GCC 12 warns on designated initializers that leave members out)
  EXPECT_EQ(ids(q), (V{"m1", "m2", "m3", "m4"}));
  q.since = at(2000);
  EXPECT_EQ(ids(q), (V{"m2", "m3", "m4"}));
  q.until = at(4000);
  EXPECT_EQ(ids(q), (V{"m2", "m3"}));
  q = {};
  q.rule = "bulk";
  EXPECT_EQ(ids(q), (V{"m1", "m3", "m4"}));
  q.limit = 2;
  EXPECT_EQ(ids(q), (V{"m1", "m3"}));
  q = {};
  q.state = ActionState::would_do;
  EXPECT_EQ(ids(q), (V{"m3"}));
  q = {};
  q.account_id = "acct-a";
  EXPECT_EQ(ids(q), (V{"m1", "m2", "m4"}));
  q = {};
  q.since = at(1500);
  q.rule = "bulk";
  q.state = ActionState::decided;
  EXPECT_EQ(ids(q), (V{"m4"}));
  q = {};
  q.rule = "nothing";
  EXPECT_EQ(ids(q), V{});
}

TEST(LedgerRead, TimesRoundTripToTheMillisecond) {
  Ledger ledger = open_memory();
  const api::Timestamp t = at(1'717'171'717'123);
  DecisionRecord record = D{"m1"};
  record.decided_at = t;
  ASSERT_TRUE(ledger.record_decisions(std::span{&record, 1}));
  EXPECT_EQ(ledger.find("m1", ActionKind::move).value()->created_at, t);
  ASSERT_TRUE(ledger.set_checkpoint("a", at(-5), t));  // before 1970 is still a time
  EXPECT_EQ(ledger.checkpoint("a").value(), at(-5));
}

// ---- checkpoints ----------------------------------------------------------------------------

TEST(LedgerCheckpoint, PerAccount) {
  Ledger ledger = open_memory();
  EXPECT_EQ(ledger.checkpoint("acct-a").value(), std::nullopt);
  ASSERT_TRUE(ledger.set_checkpoint("acct-a", at(60'000), at(60'100)));
  ASSERT_TRUE(ledger.set_checkpoint("acct-b", at(30'000), at(30'100)));
  EXPECT_EQ(ledger.checkpoint("acct-a").value(), at(60'000));
  EXPECT_EQ(ledger.checkpoint("acct-b").value(), at(30'000));
  ASSERT_TRUE(ledger.set_checkpoint("acct-a", at(120'000), at(120'100)));
  EXPECT_EQ(ledger.checkpoint("acct-a").value(), at(120'000));
  EXPECT_EQ(ledger.checkpoint("acct-b").value(), at(30'000));
  EXPECT_EQ(ledger.checkpoint("acct-c").value(), std::nullopt);
}

// ---- errors -------------------------------------------------------------------------------------

// Another process holds the write lock past busy_timeout: the record fails
// with SQLite's reason and the step, records nothing, and works once the lock goes.
TEST(LedgerErrors, ABusyDatabaseIsAnErrorValueAndRollsBack) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  LedgerOptions options;
  options.busy_timeout = std::chrono::milliseconds{50};
  auto ledger = Ledger::open(path, options).value();
  RawDb other{path};
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto blocked = ledger.record_decisions(records({{"m1"}}));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().step, "record decisions: BEGIN IMMEDIATE");
  EXPECT_EQ(blocked.error().sqlite_code & 0xff, SQLITE_BUSY);
  EXPECT_NE(blocked.error().message.find("locked"), std::string::npos)
      << blocked.error().to_string();
  ASSERT_EQ(other.exec("ROLLBACK"), SQLITE_OK);
  EXPECT_FALSE(ledger.already_decided("m1").value());
  auto retried = ledger.record_decisions(records({{"m1"}}));
  ASSERT_TRUE(retried) << retried.error().to_string();
  EXPECT_TRUE(ledger.already_decided("m1").value());
}

TEST(LedgerErrors, ErrorTextNamesFileStepAndReason) {
  const LedgerError error{"/var/lib/qtriage/state.db", "record decisions: INSERT INTO actions", 10,
                          "disk I/O error"};
  EXPECT_EQ(error.to_string(),
            "/var/lib/qtriage/state.db: record decisions: INSERT INTO actions: disk I/O error "
            "(sqlite code 10)");
}

TEST(LedgerNames, KindsAndStatesRoundTrip) {
  for (ActionKind kind :
       {ActionKind::move, ActionKind::release, ActionKind::reclassify, ActionKind::ignore}) {
    EXPECT_EQ(parse_action_kind(to_string(kind)), kind);
  }
  for (std::size_t i = 0; i < action_state_count; ++i) {
    const auto state = static_cast<ActionState>(i);
    EXPECT_EQ(parse_action_state(to_string(state)), state);
  }
  EXPECT_STREQ(to_string(ActionState::would_do), "would-do");
  EXPECT_EQ(parse_action_state("would_do"), ActionState::would_do);
  EXPECT_EQ(parse_action_state("pending"), std::nullopt);
  EXPECT_EQ(parse_action_kind("delete"), std::nullopt);
}

}  // namespace
}  // namespace qtriage::daemon

namespace qtriage::daemon {
namespace {

TEST(LedgerDeferred, KeepsMessagesUntilDroppedAndTheSearchLeavesThemAlone) {
  Ledger ledger = open_memory();
  const std::vector<DeferredMessage> messages{{"d1", "acct-a", "c1", R"({"id":"d1"})"},
                                              {"d2", "acct-a", "c1", R"({"id":"d2"})"},
                                              {"e1", "acct-b", "c1", R"({"id":"e1"})"}};
  ASSERT_TRUE(ledger.defer(messages, at(1000)));
  ASSERT_TRUE(ledger.defer(std::span(messages).first(1), at(2000)));  // again: ignored
  EXPECT_EQ(ledger.deferred_count("acct-a").value(), 2);
  const auto first = ledger.deferred("acct-a", 1).value();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].investigate_id, "d1");
  EXPECT_EQ(first[0].message_json, R"({"id":"d1"})");
  EXPECT_EQ(first[0].cycle_id, "c1");

  ASSERT_TRUE(ledger.record_decisions(records({{"m1"}})));
  const std::vector<std::string> ids{"d1", "m1", "x9"};
  EXPECT_EQ(ledger.already_seen(ids).value(), (std::vector<std::string>{"d1", "m1"}));
  EXPECT_EQ(ledger.already_decided(ids).value(), (std::vector<std::string>{"m1"}));

  const std::vector<std::string> drop{"d1", "nope"};
  EXPECT_EQ(ledger.drop_deferred(drop).value(), 1u);
  EXPECT_EQ(ledger.deferred_count("acct-a").value(), 1);
  EXPECT_EQ(ledger.deferred("acct-b", 10).value().size(), 1u);
  const std::vector<DeferredMessage> no_id{{"", "acct-a", "c1", "{}"}};
  EXPECT_FALSE(ledger.defer(no_id, at(3000)));
}

}  // namespace
}  // namespace qtriage::daemon

namespace qtriage::daemon {
namespace {

TEST(LedgerPendingPage, PagesOneActionAfterTheOtherAndNeverRepeatsARowInAPass) {
  Ledger ledger = open_memory();
  ASSERT_TRUE(ledger.record_decisions(records({{"r1", ActionKind::release},
                                               {"m1"},
                                               {"r2", ActionKind::release},
                                               {"m2"},
                                               {"m3"},
                                               {"o1", ActionKind::move, "r", "c", ActionState::decided, 1000, "acct-b"},
                                               {"h1", ActionKind::move, "r", "c", ActionState::held}})));
  EXPECT_EQ(ledger.pending_count("acct-a").value(), 5);
  Ledger::PendingCursor cursor;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    const auto rows = ledger.pending_page("acct-a", cursor, 2).value();
    if (rows.empty()) break;
    for (const auto& row : rows) seen.push_back(row.investigate_id);
    cursor = {rows.back().action, rows.back().row_id};
    // A failure puts a row back to decided: the pass does not meet it again.
    ASSERT_TRUE(ledger.mark_failed(rows.front().investigate_id, rows.front().kind, "boom", 5, at(2000)));
  }
  // "move JunkEmail" sorts before "release"; rows in id order within an action.
  EXPECT_EQ(seen, (std::vector<std::string>{"m1", "m2", "m3", "r1", "r2"}));
}

}  // namespace
}  // namespace qtriage::daemon

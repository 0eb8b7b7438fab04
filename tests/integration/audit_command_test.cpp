// `qtriage audit` and `qtriage approve` as people run them: the real binary
// on an audit log and a ledger written here, in a temp folder with its own
// config.

#include "../support/child_process.hpp"

#include "qtriage/daemon/audit_log.hpp"
#include "qtriage/daemon/ledger.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace qtriage {
namespace {

using testing::ChildProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using daemon::ActionKind;
using daemon::ActionState;

api::Timestamp now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

api::Timestamp fixed(const char* text) { return *api::parse_timestamp(text); }

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class AuditFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("qtriage-audit-command-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    write("rules.yaml",
          "- rule: junk-spam\n  condition: disposition = SPAM\n  action: move JunkEmail\n");
    config_ = write("qtriage.yaml",
                    "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n"
                    "  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
                    "rules: [rules.yaml]\n"
                    "state: {path: state.db}\n"
                    "audit: {path: audit.jsonl}\n");
  }
  void TearDown() override { fs::remove_all(folder_); }

  fs::path write(const std::string& name, const std::string& text) {
    const fs::path path = folder_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  fs::path ledger_path() const { return folder_ / "state.db"; }
  fs::path audit_path() const { return folder_ / "audit.jsonl"; }

  struct Run {
    int code;
    std::string output;  // stdout and stderr
  };
  // `qtriage SUBCOMMAND -c CONFIG REST...` for args = {SUBCOMMAND, REST...}.
  Run run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {QTRIAGE_BINARY, args.at(0), "-c", config_.string()};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    ChildProcess process(argv);
    const int code = process.wait_exit(60s);
    return {code, process.output()};
  }

  // ---- the audit log ----
  static json::object decision(api::Timestamp time, const std::string& id, const std::string& rule,
                               const std::string& state, const std::string& subject) {
    return json::object{{"type", "decision"},
                        {"time", daemon::format_time(time)},
                        {"cycle", "c1"},
                        {"account", "023e105f4ecef8ad9ca31a8372d0c353"},
                        {"id", id},
                        {"postfix_id", "pf-" + id},
                        {"subject", subject},
                        {"from", "x@example.com"},
                        {"recipients", json::array{"a@example.com"}},
                        {"disposition", "SPAM"},
                        {"rule", rule},
                        {"rule_set_version", "v1"},
                        {"action", "move JunkEmail"},
                        {"verdict", "act"},
                        {"explanation", json::object{{"clauses", json::array{}},
                                                     {"vetoes", json::array{}}}},
                        {"mode", "enforce"},
                        {"state", state}};
  }
  static json::object outcome(api::Timestamp time, const std::string& id, const std::string& rule,
                              const std::string& result) {
    return json::object{{"type", "outcome"},
                        {"time", daemon::format_time(time)},
                        {"cycle", "c1"},
                        {"account", "023e105f4ecef8ad9ca31a8372d0c353"},
                        {"id", id},
                        {"postfix_id", "pf-" + id},
                        {"rule", rule},
                        {"action", "move JunkEmail"},
                        {"result", result},
                        {"detail", "moved"}};
  }
  void write_log(const std::vector<json::object>& records, const std::string& tail = "") {
    std::string text;
    for (const auto& record : records) text += json::serialize(record) + "\n";
    write("audit.jsonl", text + tail);
  }
  // Four records on 2024-01-05: two rules, decisions and an outcome.
  void write_standard_log() {
    write_log({decision(fixed("2024-01-05T10:00:00Z"), "m1", "junk-spam", "decided",
                        "Cheap pills, today"),
               outcome(fixed("2024-01-05T10:00:01Z"), "m1", "junk-spam", "done"),
               decision(fixed("2024-01-05T11:00:00Z"), "m2", "purge-malicious", "held",
                        "Invoice \"overdue\""),
               decision(fixed("2024-01-05T12:00:00Z"), "m3", "junk-spam", "would_do",
                        "Win a prize")});
  }

  // ---- the ledger ----
  static daemon::DecisionRecord record(const std::string& id, const std::string& rule,
                                       const std::string& cycle, ActionState state,
                                       api::Timestamp at) {
    daemon::DecisionRecord r;
    r.investigate_id = id;
    r.postfix_id = "pf-" + id;
    r.account_id = "023e105f4ecef8ad9ca31a8372d0c353";
    r.kind = ActionKind::move;
    r.action = "move JunkEmail";
    r.rule = rule;
    r.rule_set_version = "v1";
    r.cycle_id = cycle;
    r.state = state;
    r.decided_at = at;
    return r;
  }
  // h1, h2 held by cycle c1 (rule big-rule); h3 held by c2 (rule other-rule);
  // d1 decided then done; all on 2024-01-05.
  void write_standard_ledger() {
    auto ledger = daemon::Ledger::open(ledger_path().string()).value();
    const std::vector<daemon::DecisionRecord> records = {
        record("h1", "big-rule", "c1", ActionState::held, fixed("2024-01-05T10:00:00Z")),
        record("h2", "big-rule", "c1", ActionState::held, fixed("2024-01-05T10:00:01Z")),
        record("h3", "other-rule", "c2", ActionState::held, fixed("2024-01-05T11:00:00Z")),
        record("d1", "junk-spam", "c2", ActionState::decided, fixed("2024-01-05T12:00:00Z"))};
    ASSERT_EQ(ledger.record_decisions(records).value().recorded.size(), 4U);
    ASSERT_TRUE(ledger.mark_done("d1", ActionKind::move, "moved", fixed("2024-01-05T12:00:05Z"))
                    .value());
  }
  ActionState state_of(const std::string& id) const {
    auto ledger = daemon::Ledger::open(ledger_path().string()).value();
    return ledger.find(id, ActionKind::move).value().value().state;
  }

  fs::path folder_;
  fs::path config_;
};

using AuditCommand = AuditFixture;
using ApproveCommand = AuditFixture;

// ---- qtriage audit: the audit log ------------------------------------------------------

TEST_F(AuditCommand, TableShowsEveryRecordOfTheLog) {
  write_standard_log();
  const auto result = run({"audit"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("time"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("postfix_id"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("2024-01-05T10:00:00.000Z"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Cheap pills, today"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("purge-malicious"), std::string::npos) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 5U) << result.output;  // header + 4
}

TEST_F(AuditCommand, FiltersByRuleStateAndType) {
  write_standard_log();
  auto result = run({"audit", "--rule", "junk-spam", "--type", "decision"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 3U) << result.output;
  EXPECT_NE(result.output.find("pf-m1"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("pf-m3"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("pf-m2"), std::string::npos) << result.output;

  result = run({"audit", "--state", "held"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 2U) << result.output;
  EXPECT_NE(result.output.find("pf-m2"), std::string::npos) << result.output;

  // The ledger's spelling of would-do is taken too.
  result = run({"audit", "--state", "would-do"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("pf-m3"), std::string::npos) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 2U) << result.output;
}

TEST_F(AuditCommand, JsonIsAnArrayOfTheMatchingRecords) {
  write_standard_log();
  const auto result = run({"audit", "--format", "json", "--type", "outcome"});
  ASSERT_EQ(result.code, 0) << result.output;
  const json::value value = json::parse(result.output);
  ASSERT_TRUE(value.is_array()) << result.output;
  ASSERT_EQ(value.as_array().size(), 1U);
  const auto& record = value.as_array()[0].as_object();
  EXPECT_EQ(record.at("id").as_string(), "m1");
  EXPECT_EQ(record.at("result").as_string(), "done");
}

TEST_F(AuditCommand, CsvHasAHeaderCrlfAndQuotedFields) {
  write_standard_log();
  const auto result = run({"audit", "--format", "csv", "--type", "decision"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("time,type,cycle,account,id,postfix_id,rule", 0), 0U)
      << result.output;
  EXPECT_EQ(count_of(result.output, "\r\n"), 4U) << result.output;
  EXPECT_NE(result.output.find("\"Cheap pills, today\""), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\"Invoice \"\"overdue\"\"\""), std::string::npos)
      << result.output;
}

TEST_F(AuditCommand, SinceUntilAndLimitTakeRfc3339) {
  write_standard_log();
  auto result = run({"audit", "--since", "2024-01-05T10:30:00Z", "--until",
                     "2024-01-05T12:00:00Z", "--format", "json"});
  ASSERT_EQ(result.code, 0) << result.output;
  auto value = json::parse(result.output);
  ASSERT_EQ(value.as_array().size(), 1U) << result.output;
  EXPECT_EQ(value.as_array()[0].as_object().at("id").as_string(), "m2");

  result = run({"audit", "--limit", "2", "--format", "json"});
  ASSERT_EQ(result.code, 0) << result.output;
  value = json::parse(result.output);
  ASSERT_EQ(value.as_array().size(), 2U) << result.output;
  EXPECT_EQ(value.as_array()[0].as_object().at("type").as_string(), "decision");
  EXPECT_EQ(value.as_array()[1].as_object().at("type").as_string(), "outcome");
}

TEST_F(AuditCommand, RelativeSinceCountsBackFromNow) {
  const auto now = now_ms();
  write_log({decision(now - 48h, "old", "junk-spam", "decided", "two days ago"),
             decision(now - 1h, "new", "junk-spam", "decided", "an hour ago"),
             outcome(now - 30min, "new", "junk-spam", "done")});
  auto result = run({"audit", "--since", "24h", "--format", "json"});
  ASSERT_EQ(result.code, 0) << result.output;
  auto value = json::parse(result.output);
  ASSERT_EQ(value.as_array().size(), 2U) << result.output;
  for (const auto& record : value.as_array()) {
    EXPECT_EQ(record.as_object().at("id").as_string(), "new");
  }
  result = run({"audit", "--since", "7d", "--format", "json"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(json::parse(result.output).as_array().size(), 3U) << result.output;
}

TEST_F(AuditCommand, ACutLastLineIsANoteNotAnError) {
  write_log({decision(fixed("2024-01-05T10:00:00Z"), "m1", "junk-spam", "decided", "s")},
            R"({"type":"outcome","time":"2024-01-05T10:0)");
  const auto result = run({"audit"});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("note: the last line of " + audit_path().string() + " is cut"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("pf-m1"), std::string::npos) << result.output;
}

// ---- qtriage audit: the ledger ----------------------------------------------------------

TEST_F(AuditCommand, LedgerSourceInTableJsonAndCsv) {
  write_standard_ledger();
  auto result = run({"audit", "--source", "ledger"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("updated_at", 0), 0U) << result.output;
  for (const char* column :
       {"state", "rule", "action", "postfix_id", "investigate_id", "attempts", "error"}) {
    EXPECT_NE(result.output.find(column), std::string::npos) << column << "\n" << result.output;
  }
  EXPECT_EQ(count_of(result.output, "\n"), 5U) << result.output;
  EXPECT_NE(result.output.find("2024-01-05T12:00:05.000Z  done"), std::string::npos)
      << result.output;

  result = run({"audit", "--source", "ledger", "--format", "json"});
  ASSERT_EQ(result.code, 0) << result.output;
  const auto rows = json::parse(result.output).as_array();
  ASSERT_EQ(rows.size(), 4U);
  EXPECT_EQ(rows[0].as_object().at("investigate_id").as_string(), "h1");
  EXPECT_EQ(rows[0].as_object().at("state").as_string(), "held");
  EXPECT_EQ(rows[0].as_object().at("cycle").as_string(), "c1");
  EXPECT_EQ(rows[3].as_object().at("state").as_string(), "done");
  EXPECT_EQ(rows[3].as_object().at("outcome").as_string(), "moved");
  EXPECT_TRUE(rows[3].as_object().at("error").is_null());

  result = run({"audit", "--source", "ledger", "--format", "csv"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("created_at,updated_at,state,rule,", 0), 0U) << result.output;
  EXPECT_EQ(count_of(result.output, "\r\n"), 5U) << result.output;
}

TEST_F(AuditCommand, LedgerSourceFiltersByStateRuleTimeAndLimit) {
  write_standard_ledger();
  auto ids = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"audit", "--source", "ledger", "--format", "json"});
    const auto result = run(args);
    EXPECT_EQ(result.code, 0) << result.output;
    std::vector<std::string> out;
    const json::value rows = json::parse(result.output);
    for (const auto& row : rows.as_array()) {
      out.emplace_back(row.as_object().at("investigate_id").as_string());
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({"--state", "held"}), (V{"h1", "h2", "h3"}));
  EXPECT_EQ(ids({"--rule", "big-rule"}), (V{"h1", "h2"}));
  EXPECT_EQ(ids({"--since", "2024-01-05T10:30:00Z"}), (V{"h3", "d1"}));
  EXPECT_EQ(ids({"--until", "2024-01-05T11:00:00Z"}), (V{"h1", "h2"}));
  EXPECT_EQ(ids({"--state", "held", "--limit", "1"}), (V{"h1"}));
  EXPECT_EQ(ids({"--since", "24h"}), V{});  // all of it is from 2024
}

// ---- qtriage audit: errors ------------------------------------------------------------------

TEST_F(AuditCommand, AMissingLogOrLedgerIsOneLineAndExit2) {
  auto result = run({"audit"});
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_EQ(result.output,
            "qtriage audit: no audit log at " + audit_path().string() + " (audit.path of " +
                config_.string() +
                "): the daemon has not written one yet, or the config points elsewhere\n");

  result = run({"audit", "--source", "ledger"});
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 1U) << result.output;
  EXPECT_NE(result.output.find("no ledger at " + ledger_path().string()), std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(ledger_path())) << "a reader must not create the ledger";

  write("not-a-db", "this is not SQLite, not even close; it is plain text and long enough\n");
  fs::rename(folder_ / "not-a-db", ledger_path());
  result = run({"audit", "--source", "ledger"});
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 1U) << result.output;
}

TEST_F(AuditCommand, BadArgumentsExit1) {
  write_standard_log();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"audit", "--since", "yesterday"},
        {"audit", "--until", "2024-13-45"},
        {"audit", "--since", "2024-01-06T00:00:00Z", "--until", "2024-01-05T00:00:00Z"},
        {"audit", "--format", "xml"},
        {"audit", "--source", "postgres"},
        {"audit", "--type", "verdict"},
        {"audit", "--state", "sent"},
        {"audit", "--source", "ledger", "--state", "bogus"},
        {"audit", "--source", "ledger", "--type", "decision"},
        {"audit", "--limit", "0"}}) {
    const auto result = run(args);
    EXPECT_EQ(result.code, 1) << args.back() << "\n" << result.output;
    EXPECT_FALSE(result.output.empty()) << args.back();
  }
  const auto result = run({"audit", "--since", "yesterday"});
  EXPECT_EQ(count_of(result.output, "\n"), 1U) << result.output;
  EXPECT_NE(result.output.find("'yesterday' is neither an RFC 3339 time"), std::string::npos)
      << result.output;

  // A config with a mistake is rejected input too.
  config_ = write("broken.yaml", "api: {account_id: nope}\n");
  EXPECT_EQ(run({"audit"}).code, 1);
}

// ---- qtriage approve ----------------------------------------------------------------------

TEST_F(ApproveCommand, ByCycleReleasesThatCycleOnly) {
  write_standard_ledger();
  const auto result = run({"approve", "--cycle", "c1"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("approved 2 held decisions of cycle c1"), std::string::npos)
      << result.output;
  EXPECT_EQ(state_of("h1"), ActionState::decided);
  EXPECT_EQ(state_of("h2"), ActionState::decided);
  EXPECT_EQ(state_of("h3"), ActionState::held);
  EXPECT_EQ(state_of("d1"), ActionState::done);
}

TEST_F(ApproveCommand, ByRuleReleasesThatRuleOnly) {
  write_standard_ledger();
  const auto result = run({"approve", "--rule", "other-rule"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("approved 1 held decision of rule other-rule"), std::string::npos)
      << result.output;
  EXPECT_EQ(state_of("h1"), ActionState::held);
  EXPECT_EQ(state_of("h3"), ActionState::decided);
}

TEST_F(ApproveCommand, ByIdsReleasesTheHeldOnesAmongThem) {
  write_standard_ledger();
  // d1 is done and nope is unknown: neither changes.
  const auto result = run({"approve", "--id", "h1", "h3", "--id", "d1", "--id", "nope"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("approved 2 held decisions among the 4 ids given"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(state_of("h1"), ActionState::decided);
  EXPECT_EQ(state_of("h2"), ActionState::held);
  EXPECT_EQ(state_of("h3"), ActionState::decided);
  EXPECT_EQ(state_of("d1"), ActionState::done);
}

TEST_F(ApproveCommand, DiscardEndsTheHeldOnesSkippedForGood) {
  write_standard_ledger();
  const auto result = run({"approve", "--cycle", "c1", "--discard"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("discarded 2 held decisions of cycle c1; they will never be "
                               "carried out"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(state_of("h1"), ActionState::skipped);
  EXPECT_EQ(state_of("h2"), ActionState::skipped);
  EXPECT_EQ(state_of("h3"), ActionState::held);
  // An approval afterwards cannot bring them back.
  const auto again = run({"approve", "--id", "h1"});
  EXPECT_NE(again.output.find("approved 0 decisions"), std::string::npos) << again.output;
  EXPECT_EQ(state_of("h1"), ActionState::skipped);
  // --discard says what to discard, and is not for --list.
  EXPECT_EQ(run({"approve", "--discard"}).code, 1);
  EXPECT_NE(run({"approve", "--list", "--discard"}).code, 0);
}

TEST_F(ApproveCommand, NothingHeldIsStillExit0) {
  write_standard_ledger();
  const auto result = run({"approve", "--cycle", "no-such-cycle"});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("approved 0 decisions: none held of cycle no-such-cycle"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(state_of("h1"), ActionState::held);
}

TEST_F(ApproveCommand, ListShowsTheHeldRowsWithTheirCycle) {
  write_standard_ledger();
  auto result = run({"approve", "--list"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("updated_at", 0), 0U) << result.output;
  EXPECT_NE(result.output.find("cycle"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("h1"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("h3"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("d1"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("3 held decisions"), std::string::npos) << result.output;
  EXPECT_EQ(state_of("h1"), ActionState::held);  // listing changes nothing

  ASSERT_EQ(run({"approve", "--rule", "big-rule"}).code, 0);
  ASSERT_EQ(run({"approve", "--rule", "other-rule"}).code, 0);
  result = run({"approve", "--list"});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output, "no held decisions\n");
}

TEST_F(ApproveCommand, TwoSelectorsOrNoneAreRefusedWithExit1) {
  write_standard_ledger();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"approve", "--cycle", "c1", "--rule", "big-rule"},
        {"approve", "--cycle", "c1", "--id", "h1"},
        {"approve", "--rule", "big-rule", "--id", "h1"},
        {"approve", "--list", "--cycle", "c1"},
        {"approve"}}) {
    const auto result = run(args);
    EXPECT_EQ(result.code, 1) << args.size() << "\n" << result.output;
    EXPECT_FALSE(result.output.empty());
  }
  EXPECT_EQ(state_of("h1"), ActionState::held);
  EXPECT_EQ(state_of("h3"), ActionState::held);
}

TEST_F(ApproveCommand, AMissingLedgerIsOneLineAndExit2) {
  const auto result = run({"approve", "--cycle", "c1"});
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 1U) << result.output;
  EXPECT_NE(result.output.find("qtriage approve: no ledger at"), std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(ledger_path()));
}

}  // namespace
}  // namespace qtriage

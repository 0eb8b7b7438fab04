// The rule author's commands as people run them: `qtriage check`, `qtriage
// test` and `qtriage explain`, on the shipped config and rules and on
// small files written here.

#include "../support/child_process.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

namespace qtriage {
namespace {

using testing::ChildProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const fs::path kSource = QTRIAGE_SOURCE_DIR;

class RuleCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("qtriage-rule-commands-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  fs::path write(const std::string& name, const std::string& text) {
    const fs::path path = folder_ / name;
    std::ofstream(path) << text;
    return path;
  }
  // A config in the temp folder whose rules are `rules.yaml` beside it.
  fs::path config_with_rules(const std::string& rules) {
    write("rules.yaml", rules);
    return write("qtriage.yaml",
                 "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n"
                 "  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
                 "rules: [rules.yaml]\n");
  }

  struct Run {
    int code;
    std::string output;
  };
  static Run run(std::vector<std::string> args) {
    args.insert(args.begin(), QTRIAGE_BINARY);
    ChildProcess process(args);
    const int code = process.wait_exit(60s);
    return {code, process.output()};
  }

  fs::path folder_;
};

const std::string kRules = R"(
- list: executives
  items: [ceo@example.com]
- rule: purge-delivered-malicious
  desc: delivered malicious mail is purged
  condition: >
    disposition in (MALICIOUS, MALICIOUS-BEC)
    and not quarantined
  exceptions:
    - name: executives-by-hand
      condition: any(recipients, _ in executives)
  action: move RecoverableItemsPurges
- rule: junk-spam
  condition: disposition = SPAM and not quarantined
  action: move JunkEmail
)";

TEST_F(RuleCommands, CheckAcceptsTheShippedConfigAndRules) {
  const auto result = run({"check", "-c", (kSource / "config/qtriage.yaml").string()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find(": OK: "), std::string::npos) << result.output;
}

TEST_F(RuleCommands, TheShippedRulesPassTheirCases) {
  const auto result = run({"test", "-c", (kSource / "config/qtriage.yaml").string(),
                           (kSource / "rules/tests").string()});
  EXPECT_EQ(result.code, 0) << result.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(result.output, match, std::regex(R"((\d+) passed, 0 failed)")))
      << result.output;
  EXPECT_GE(std::stoi(match[1]), 40);
}

TEST_F(RuleCommands, CheckReportsEveryErrorWithFileLineAndColumnAndExits1) {
  const auto config = config_with_rules(R"(- rule: a
  condition: dispositon = MALICIOUS
  action: move JunkEmail
- rule: b
  condition: disposition = MALICOUS
  action: purge
)");
  const auto result = run({"check", "-c", config.string()});
  EXPECT_EQ(result.code, 1) << result.output;
  const std::string file = (folder_ / "rules.yaml").string();
  EXPECT_NE(result.output.find(file + ":2:14: In rule 'a': unknown field 'dispositon' (did you "
                                      "mean 'disposition'?)"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(file + ":5:28: In rule 'b': unknown value 'MALICOUS' for "
                                      "disposition (did you mean 'MALICIOUS'?)"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(file + ":6:11: In rule 'b': unknown action 'purge'"),
            std::string::npos)
      << result.output;
  // The source line and a caret under the column.
  EXPECT_NE(result.output.find("  condition: dispositon = MALICIOUS\n             ^"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("3 errors; nothing was loaded"), std::string::npos)
      << result.output;
}

TEST_F(RuleCommands, CheckWarnsAboutAQuotedUnknownValueButLoads) {
  const auto config = config_with_rules(R"(- rule: graymail
  condition: disposition = "GRAYMAIL"
  action: move JunkEmail
)");
  const auto result = run({"check", "-c", config.string()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("warning: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("'GRAYMAIL' is not a known disposition value"), std::string::npos)
      << result.output;
}

TEST_F(RuleCommands, CheckReportsAConfigMistakeAndExits1) {
  write("rules.yaml", kRules);
  const auto config = write("qtriage.yaml",
                            "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n"
                            "  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
                            "poll: {interval: 5x}\n"
                            "rules: [rules.yaml]\n");
  const auto result = run({"check", "-c", config.string()});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find(config.string() + ":4:"), std::string::npos) << result.output;
}

TEST_F(RuleCommands, TestPrintsALineACaseAndTheTotals) {
  const auto config = config_with_rules(kRules);
  write("cases.yaml", R"(
- name: delivered phish is purged
  message: {postfix_id: A1, final_disposition: MALICIOUS, is_quarantined: false,
            to: [bob@example.com]}
  expect: {rule: purge-delivered-malicious, action: move RecoverableItemsPurges}
- name: executives are left alone
  message: {postfix_id: A2, final_disposition: MALICIOUS, is_quarantined: false,
            to: [CEO@example.com]}
  expect: {action: none}
- name: quarantined spam is skipped
  message: {postfix_id: A3, final_disposition: SPAM, is_quarantined: true}
  expect: {action: none, skip: quarantined}
)");
  const auto result = run({"test", "-c", config.string(), (folder_ / "cases.yaml").string()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("PASS delivered phish is purged"), std::string::npos);
  EXPECT_NE(result.output.find("PASS executives are left alone"), std::string::npos);
  EXPECT_NE(result.output.find("3 passed, 0 failed"), std::string::npos) << result.output;
}

TEST_F(RuleCommands, AFailingCasePrintsTheExplanationAndExits1) {
  const auto config = config_with_rules(kRules);
  write("cases.yaml", R"(
- name: spam is purged (wrong on purpose)
  message: {postfix_id: B1, final_disposition: SPAM, is_quarantined: false}
  expect: {rule: purge-delivered-malicious, action: move RecoverableItemsPurges}
)");
  const auto result = run({"test", "-c", config.string(), (folder_ / "cases.yaml").string()});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("FAIL spam is purged (wrong on purpose)"), std::string::npos);
  EXPECT_NE(result.output.find("got      rule 'junk-spam', action move JunkEmail"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("false    disposition in (MALICIOUS, MALICIOUS-BEC)"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("0 passed, 1 failed"), std::string::npos) << result.output;
}

TEST_F(RuleCommands, ABrokenCaseFileIsLocatedAndExits1) {
  const auto config = config_with_rules(kRules);
  write("cases.yaml", R"(
- name: bad action
  message: {postfix_id: C1}
  expect: {action: purge}
)");
  const auto result = run({"test", "-c", config.string(), (folder_ / "cases.yaml").string()});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("cases.yaml:4:20: In case 'bad action': unknown action 'purge'"),
            std::string::npos)
      << result.output;
}

TEST_F(RuleCommands, ExplainShowsEveryRuleItsClausesAndTheDecision) {
  const auto config = config_with_rules(kRules);
  const auto message = write("message.json", R"({"id": "m-1", "postfix_id": "P1",
    "final_disposition": "MALICIOUS", "is_quarantined": false, "to": ["ceo@example.com"],
    "subject": "Invoice"})");
  const auto result = run({"explain", "-c", config.string(), "--message", message.string()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("1. purge-delivered-malicious"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("vetoed"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("true     not quarantined"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("except true     executives-by-hand"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("decision: no rule matches"), std::string::npos)
      << result.output;
}

TEST_F(RuleCommands, ExplainAsJsonForTools) {
  const auto config = config_with_rules(kRules);
  const auto message = write("message.json", R"({"result": {"id": "m-2", "postfix_id": "P2",
    "final_disposition": "SPAM", "is_quarantined": false}})");
  const auto result = run({"explain", "-c", config.string(), "--message", message.string(),
                           "--format", "json"});
  ASSERT_EQ(result.code, 0) << result.output;
  const auto json = boost::json::parse(result.output).as_object();
  EXPECT_EQ(json.at("decision").at("rule"), "junk-spam");
  EXPECT_EQ(json.at("decision").at("action"), "move JunkEmail");
  EXPECT_EQ(json.at("message").at("postfix_id"), "P2");
  const auto& rules = json.at("rules").as_array();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].at("outcome"), "no match");
  EXPECT_EQ(rules[0].at("clauses").as_array()[0].at("state"), "false");
  EXPECT_EQ(rules[1].at("outcome"), "decides");
}

TEST_F(RuleCommands, ExplainRefusesAMessageThatIsNotJson) {
  const auto config = config_with_rules(kRules);
  const auto message = write("message.json", "{not json");
  const auto result = run({"explain", "-c", config.string(), "--message", message.string()});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("not JSON"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace qtriage

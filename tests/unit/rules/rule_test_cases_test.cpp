// read_rule_test_cases and run_rule_test_case: the example of rules.md, `now:`
// and `detections:`, every mistake in a case file located, and pass/fail with
// the expected and actual outcome as text.

#include "qtriage/rules/rule_test_cases.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules_md_example.hpp"
#include "rules_test_support.hpp"

namespace qtriage::rules {
namespace {

using test_support::rules_md_example;
using test_support::rules_of;
using test_support::texts_of;
using test_support::time_of;
using Errors = std::vector<std::string>;


// The example case file of rules.md.
const char* const example_cases = R"yaml(- name: delivered credential phish is purged
  message: {postfix_id: A1, final_disposition: MALICIOUS, is_quarantined: false,
            threat_categories: [CredentialHarvester], to: [bob@example.com]}
  expect: {rule: purge-delivered-credential-phish, action: move RecoverableItemsPurges}
- name: executives are left alone
  message: {postfix_id: A2, final_disposition: MALICIOUS, is_quarantined: false,
            threat_categories: [CredentialHarvester], to: [ceo@example.com]}
  expect: {action: none}
)yaml";

const api::Timestamp real_now = time_of("2030-01-01T00:00:00Z");

TEST(RuleTestCases, ReadsTheExampleOfTheRuleLanguage) {
  const auto file = read_rule_test_cases("cases.yaml", example_cases);
  EXPECT_TRUE(file.errors.empty()) << texts_of(file.errors).front();
  ASSERT_EQ(file.cases.size(), 2u);
  const auto& first = file.cases[0];
  EXPECT_EQ(first.file, "cases.yaml");
  EXPECT_EQ(first.at, (FilePosition{1, 3}));
  EXPECT_EQ(first.name, "delivered credential phish is purged");
  EXPECT_EQ(first.message.postfix_id, "A1");
  EXPECT_EQ(first.message.id, "A1");  // a case may leave the investigate id out
  EXPECT_EQ(first.message.is_quarantined, false);
  EXPECT_EQ(first.expect_rule, "purge-delivered-credential-phish");
  EXPECT_EQ(first.expect_action, parse_action("move RecoverableItemsPurges").value());
  EXPECT_EQ(first.now, std::nullopt);
  EXPECT_EQ(first.detections, std::nullopt);
  EXPECT_EQ(file.cases[1].expect_rule, std::nullopt);
  EXPECT_EQ(file.cases[1].expect_action, std::nullopt);
}

TEST(RuleTestCases, TheExampleCasesPassAgainstTheExampleRules) {
  const auto rules = rules_of(rules_md_example);
  const auto file = read_rule_test_cases("cases.yaml", example_cases);
  ASSERT_EQ(file.cases.size(), 2u);
  for (const auto& test_case : file.cases) {
    const auto result = run_rule_test_case(*rules, test_case, real_now);
    EXPECT_TRUE(result.passed) << test_case.name << ": expected " << result.expected << ", got "
                               << result.actual;
  }
  const auto first = run_rule_test_case(*rules, file.cases[0], real_now);
  EXPECT_EQ(first.expected,
            "rule 'purge-delivered-credential-phish', action move "
            "RecoverableItemsPurges");
  EXPECT_EQ(first.actual, first.expected);
  const auto second = run_rule_test_case(*rules, file.cases[1], real_now);
  EXPECT_EQ(second.expected, "any rule, action none");
  EXPECT_EQ(second.actual, "no rule, action none");
  EXPECT_EQ(second.explanation.decision.vetoes.size(), 1u);
}

TEST(RuleTestCases, FailingCaseSaysWhatWasExpectedAndWhatHappened) {
  const auto rules = rules_of(rules_md_example);
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: wrong expectation
  message: {final_disposition: MALICIOUS, is_quarantined: false,
            threat_categories: [BEC], to: [bob@example.com]}
  expect: {rule: release-authenticated-internal-bulk, action: release}
)yaml");
  ASSERT_EQ(file.cases.size(), 1u);
  const auto result = run_rule_test_case(*rules, file.cases[0], real_now);
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.expected, "rule 'release-authenticated-internal-bulk', action release");
  EXPECT_EQ(result.actual,
            "rule 'purge-delivered-credential-phish', action move RecoverableItemsPurges");
}

TEST(RuleTestCases, SkippedActionIsNoneAndNamesTheRule) {
  const auto rules = rules_of(rules_md_example);
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: already moved
  message: {final_disposition: MALICIOUS, is_quarantined: false, threat_categories: [BEC],
            post_delivery_operations: [MOVE]}
  expect: {rule: purge-delivered-credential-phish, action: none, skip: already moved}
- name: the wrong rule fails even with action none
  message: {final_disposition: MALICIOUS, is_quarantined: false, threat_categories: [BEC],
            post_delivery_operations: [MOVE]}
  expect: {rule: release-authenticated-internal-bulk, action: none}
)yaml");
  ASSERT_EQ(file.cases.size(), 2u);
  EXPECT_EQ(file.cases[0].expect_skip, "already moved");
  const auto skipped = run_rule_test_case(*rules, file.cases[0], real_now);
  EXPECT_TRUE(skipped.passed) << skipped.actual;
  EXPECT_EQ(skipped.actual,
            "rule 'purge-delivered-credential-phish', action none (skip: already moved: "
            "post_delivery_operations shows MOVE)");
  EXPECT_FALSE(run_rule_test_case(*rules, file.cases[1], real_now).passed);
}

TEST(RuleTestCases, AuditRuleStillExpectsItsAction) {
  const auto rules = rules_of(rules_md_example);
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: internal bulk released
  message: {final_disposition: BULK, is_quarantined: true, from: news@example.org,
            validation: {spf: pass, dkim: pass, dmarc: pass}}
  expect: {rule: release-authenticated-internal-bulk, action: release}
)yaml");
  ASSERT_EQ(file.cases.size(), 1u);
  EXPECT_TRUE(run_rule_test_case(*rules, file.cases[0], real_now).passed);
}

TEST(RuleTestCases, NowFixesTheClockForAge) {
  const auto rules = rules_of("- rule: old\n  condition: age > 1h\n  action: ignore\n");
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: two hours old
  now: 2024-01-05T12:00:00Z
  message: {scanned_at: "2024-01-05T10:00:00Z"}
  expect: {rule: old, action: ignore}
- name: half an hour old
  now: "2024-01-05T10:30:00+00:00"
  message: {scanned_at: "2024-01-05T10:00:00Z"}
  expect: {action: none}
- name: real time is far later
  message: {scanned_at: "2024-01-05T10:00:00Z"}
  expect: {rule: old, action: ignore}
)yaml");
  ASSERT_TRUE(file.errors.empty()) << texts_of(file.errors).front();
  ASSERT_EQ(file.cases.size(), 3u);
  EXPECT_EQ(file.cases[0].now, time_of("2024-01-05T12:00:00Z"));
  for (const auto& test_case : file.cases) {
    const auto result = run_rule_test_case(*rules, test_case, real_now);
    EXPECT_TRUE(result.passed) << test_case.name << ": " << result.actual;
  }
}

TEST(RuleTestCases, DetectionsOfTheMessageAreGivenToTheRules) {
  const auto rules =
      rules_of("- rule: internal\n  condition: sender.ip in_cidr 10.0.0.0/8\n  action: ignore\n");
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: internal sender
  message:
    subject: hi
    detections: {sender_info: {ip: 10.1.2.3}}
  expect: {rule: internal, action: ignore}
- name: no detections at all
  message: {subject: hi}
  expect: {action: none}
)yaml");
  ASSERT_TRUE(file.errors.empty()) << texts_of(file.errors).front();
  ASSERT_EQ(file.cases.size(), 2u);
  ASSERT_TRUE(file.cases[0].detections.has_value());
  EXPECT_EQ(file.cases[0].detections->sender_info.ip, "10.1.2.3");
  EXPECT_FALSE(file.cases[1].detections.has_value());
  for (const auto& test_case : file.cases) {
    const auto result = run_rule_test_case(*rules, test_case, real_now);
    EXPECT_TRUE(result.passed) << test_case.name << ": " << result.actual;
  }
}

TEST(RuleTestCaseErrors, BadActionInExpectIsLocatedAndSuggested) {
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: c
  message: {subject: x}
  expect: {action: relase}
)yaml");
  EXPECT_TRUE(file.cases.empty());
  EXPECT_EQ(texts_of(file.errors),
            (Errors{"cases.yaml:3:20: In case 'c': unknown action 'relase' (did you mean "
                    "'release'?); write move <folder>, release, reclassify <disposition> or "
                    "ignore"}));
}

TEST(RuleTestCaseErrors, UnknownKeysOfACaseAndOfExpectAreSuggested) {
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: c
  mesage: {subject: x}
  message: {subject: x}
  expect: {rul: r, action: ignore}
)yaml");
  EXPECT_EQ(texts_of(file.errors),
            (Errors{"cases.yaml:2:3: In case 1: unknown key 'mesage' for a case (did you mean "
                    "'message'?)",
                    "cases.yaml:4:12: In case 'c': unknown key 'rul' in expect (did you mean "
                    "'rule'?)"}));
}

TEST(RuleTestCaseErrors, MessageThatDoesNotDecodeIsReported) {
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: c
  message: {is_quarantined: maybe}
  expect: {action: none}
)yaml");
  ASSERT_EQ(file.errors.size(), 1u);
  const auto text = to_string(file.errors[0]);
  EXPECT_TRUE(text.starts_with("cases.yaml:2:12: In case 'c': 'message' does not decode: "))
      << text;
  EXPECT_NE(text.find("is_quarantined"), std::string::npos) << text;
}

TEST(RuleTestCaseErrors, NumberWhereTheMessageHasTextAsksForQuotes) {
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: c
  message: {postfix_id: 12345}
  expect: {action: none}
)yaml");
  EXPECT_EQ(texts_of(file.errors),
            (Errors{"cases.yaml:2:12: In case 'c': 'message' does not decode: postfix_id: "
                    "expected a string, got number (quote a value that YAML reads as a number "
                    "or boolean: \"2024\")"}));
}

TEST(RuleTestCaseErrors, DetectionsThatDoNotDecodeAreReported) {
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: c
  message: {detections: {links: 3}}
  expect: {action: none}
)yaml");
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_TRUE(to_string(file.errors[0])
                  .starts_with("cases.yaml:2:25: In case 'c': 'detections' does not decode: "))
      << to_string(file.errors[0]);
}

TEST(RuleTestCaseErrors, BadNowMissingExpectAndMissingNameAreReported) {
  const auto file = read_rule_test_cases("cases.yaml", R"yaml(- name: c
  now: yesterday
  message: {}
  expect: {action: none}
- message: {}
  expect: {rule: r}
)yaml");
  EXPECT_EQ(texts_of(file.errors),
            (Errors{"cases.yaml:2:8: In case 'c': 'now' must be an RFC 3339 time such as "
                    "2024-01-05T10:00:00Z",
                    "cases.yaml:5:3: In case 2: a case needs a 'name'",
                    "cases.yaml:6:11: In case 2: 'expect' needs an 'action' (or none)"}));
  EXPECT_TRUE(file.cases.empty());  // a file with errors runs none of its cases
}

TEST(RuleTestCaseErrors, FileThatIsNotAListIsRefused) {
  const auto file = read_rule_test_cases("cases.yaml", "name: c\n");
  EXPECT_EQ(texts_of(file.errors),
            (Errors{"cases.yaml:1:1: a test file is a list of cases: - name: ..."}));
}

TEST(RuleTestCaseErrors, InvalidYamlIsLocated) {
  const auto file = read_rule_test_cases("cases.yaml", "- name: [c\n");
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_TRUE(to_string(file.errors[0]).starts_with("cases.yaml:")) << to_string(file.errors[0]);
  EXPECT_NE(to_string(file.errors[0]).find("invalid YAML: "), std::string::npos);
}

TEST(RuleTestCases, DescribeOutcomeOfEachVerdict) {
  Decision none;
  EXPECT_EQ(describe_outcome(none), "no rule, action none");
  CompiledRule rule;
  rule.name = "x";
  rule.action = parse_action("move JunkEmail").value();
  Decision act{Verdict::act, &rule, {}, {}};
  EXPECT_EQ(describe_outcome(act), "rule 'x', action move JunkEmail");
  Decision wants{Verdict::needs_detections, &rule, {}, {}};
  EXPECT_EQ(describe_outcome(wants), "rule 'x', which needs detections");
}

}  // namespace
}  // namespace qtriage::rules

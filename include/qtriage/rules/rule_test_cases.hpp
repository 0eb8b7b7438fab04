#pragma once
// Test cases for rules (rules.md, "Tests for rules"): a message, optionally
// its detections, and which rule must decide with which action. `qtriage
// test` reads and runs them; CI runs the shipped rules' cases.

#include "qtriage/api/models.hpp"
#include "qtriage/rules/rule_file_reader.hpp"
#include "qtriage/rules/rule_set.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules {

struct RuleTestCase {
  std::string file;
  FilePosition at;
  std::string name;
  api::Message message;
  std::optional<api::Detections> detections;  // the message's `detections` object
  std::optional<api::Timestamp> now;          // `now:`; absent: the real time
  std::optional<std::string> expect_rule;     // absent: compared only when given
  std::optional<Action> expect_action;        // absent: `none`
  std::optional<std::string> expect_skip;     // for people; not compared
};

struct RuleTestFile {
  std::vector<RuleTestCase> cases;
  std::vector<RuleFileError> errors;  // located; a file with errors runs none of its cases
};

RuleTestFile read_rule_test_cases(std::string_view file_name, std::string_view yaml_text);

struct RuleTestResult {
  bool passed = false;
  std::string expected;  // "rule 'x', action move JunkEmail"
  std::string actual;
  Explanation explanation;
};

RuleTestResult run_rule_test_case(const RuleSet& rules, const RuleTestCase& test_case,
                                  api::Timestamp real_now);

// "rule 'x', action move JunkEmail" / "no rule, action none (skip: ...)".
std::string describe_outcome(const Decision& decision);

}  // namespace qtriage::rules

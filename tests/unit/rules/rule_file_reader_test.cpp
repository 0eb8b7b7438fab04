// read_rule_file: every field of a well-formed file with its position, the
// example of rules.md, and the exact message and position of each kind of
// mistake, all reported in one pass.

#include "qtriage/rules/rule_file_reader.hpp"
#include "rules_md_example.hpp"
#include "qtriage/core/source_snippet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qtriage::rules {
namespace {

std::vector<std::string> errors_of(std::string_view yaml) {
  std::vector<std::string> messages;
  for (const auto& error : read_rule_file("t.yaml", yaml).errors) {
    messages.push_back(to_string(error));
  }
  return messages;
}

std::vector<std::string> one(std::string message) { return {std::move(message)}; }

TEST(RuleFileReader, ReadsListMacroAndRuleWithEveryFieldAndPosition) {
  const auto file = read_rule_file("10-remediate.yaml", R"yaml(- list: executives
  items: [ceo@example.com, "cfo@example.com"]

- macro: authenticated
  condition: spf = pass and dkim = pass
  override: replace

- rule: purge-delivered
  desc: Purge what turned malicious.
  condition: >
    disposition = MALICIOUS
    and not quarantined
  exceptions:
    - name: executives-by-hand
      condition: "any(recipients, _ in executives)"
  action: move RecoverableItemsPurges
  enabled: false
  mode: audit
  tags: [remediation, phish]
  max_per_cycle: 50
  approve: required
)yaml");
  ASSERT_TRUE(file.errors.empty()) << to_string(file.errors.front());
  ASSERT_EQ(file.definitions.size(), 3u);

  const auto& list = std::get<ListDefinition>(file.definitions[0]);
  EXPECT_EQ(list.file, "10-remediate.yaml");
  EXPECT_EQ(list.at, (FilePosition{1, 3}));
  EXPECT_EQ(list.name, (Located<std::string>{"executives", {1, 9}}));
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0], (Located<std::string>{"ceo@example.com", {2, 11}}));
  EXPECT_EQ(list.items[1], (Located<std::string>{"cfo@example.com", {2, 28}}));
  EXPECT_EQ(list.override_kind.value, OverrideKind::none);

  const auto& macro = std::get<MacroDefinition>(file.definitions[1]);
  EXPECT_EQ(macro.name, (Located<std::string>{"authenticated", {4, 10}}));
  ASSERT_TRUE(macro.condition);
  EXPECT_EQ(*macro.condition, (ConditionText{"spf = pass and dkim = pass", {5, 14}}));
  EXPECT_EQ(macro.override_kind, (Located<OverrideKind>{OverrideKind::replace, {6, 13}}));

  const auto& rule = std::get<RuleDefinition>(file.definitions[2]);
  EXPECT_EQ(rule.at, (FilePosition{8, 3}));
  EXPECT_EQ(rule.name, (Located<std::string>{"purge-delivered", {8, 9}}));
  ASSERT_TRUE(rule.desc);
  EXPECT_EQ(*rule.desc, (Located<std::string>{"Purge what turned malicious.", {9, 9}}));
  ASSERT_TRUE(rule.condition);
  // The folded block starts on the line after `>`, at its indentation.
  EXPECT_EQ(*rule.condition,
            (ConditionText{"disposition = MALICIOUS and not quarantined\n", {11, 5}}));
  ASSERT_EQ(rule.exceptions.size(), 1u);
  EXPECT_EQ(rule.exceptions[0].at, (FilePosition{14, 7}));
  EXPECT_EQ(rule.exceptions[0].name, (Located<std::string>{"executives-by-hand", {14, 13}}));
  // A quoted condition starts after its quote.
  EXPECT_EQ(rule.exceptions[0].condition,
            (ConditionText{"any(recipients, _ in executives)", {15, 19}}));
  ASSERT_TRUE(rule.action);
  EXPECT_EQ(*rule.action, (Located<std::string>{"move RecoverableItemsPurges", {16, 11}}));
  EXPECT_EQ(rule.enabled, (Located<bool>{false, {17, 12}}));
  ASSERT_TRUE(rule.mode);
  EXPECT_EQ(*rule.mode, (Located<RuleMode>{RuleMode::audit, {18, 9}}));
  ASSERT_EQ(rule.tags.size(), 2u);
  EXPECT_EQ(rule.tags[1], (Located<std::string>{"phish", {19, 23}}));
  ASSERT_TRUE(rule.max_per_cycle);
  EXPECT_EQ(*rule.max_per_cycle, (Located<std::uint64_t>{50, {20, 18}}));
  EXPECT_EQ(rule.approve_required, (FilePosition{21, 12}));
}

TEST(RuleFileReader, RuleDefaultsToEnabledWithoutModeOrOverride) {
  const auto file = read_rule_file("t.yaml", "- rule: r\n  condition: spf = pass\n  action: release\n");
  ASSERT_TRUE(file.errors.empty());
  const auto& rule = std::get<RuleDefinition>(file.definitions.at(0));
  EXPECT_TRUE(rule.enabled.value);
  EXPECT_FALSE(rule.mode);
  EXPECT_FALSE(rule.max_per_cycle);
  EXPECT_FALSE(rule.approve_required);
  EXPECT_EQ(rule.override_kind.value, OverrideKind::none);
}

TEST(RuleFileReader, ReadsTheExampleOfTheRuleLanguageWithoutErrors) {
  const auto file = read_rule_file("example.yaml", test_support::rules_md_example);
  EXPECT_TRUE(file.errors.empty()) << to_string(file.errors.front());
  EXPECT_EQ(file.definitions.size(), 5u);
}

TEST(RuleFileReader, AcceptsAnAppendOfARuleWithOnlyACondition) {
  const auto file = read_rule_file("t.yaml", "- rule: r\n  override: append\n  condition: spf = pass\n");
  EXPECT_TRUE(file.errors.empty());
  EXPECT_EQ(std::get<RuleDefinition>(file.definitions.at(0)).override_kind.value,
            OverrideKind::append);
}

TEST(RuleFileReader, AnEmptyFileDefinesNothing) {
  const auto file = read_rule_file("t.yaml", "# nothing yet\n");
  EXPECT_TRUE(file.errors.empty());
  EXPECT_TRUE(file.definitions.empty());
}

// ---- one mistake a file ---------------------------------------------------------

TEST(RuleFileReaderErrors, YamlSyntaxErrorIsLocated) {
  const auto errors = errors_of("- rule: r\n  condition: [spf = pass\n  action: release\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("t.yaml:", 0), 0u);
  EXPECT_EQ(errors[0], "t.yaml:3:9: invalid YAML: end of sequence flow not found");
}

TEST(RuleFileReaderErrors, TopLevelMappingIsRefused) {
  EXPECT_EQ(errors_of("rule: r\ncondition: x\n"),
            one("t.yaml:1:1: the top level of a rules file must be a list of items "
                "(\"- rule: ...\"), not a mapping"));
}

TEST(RuleFileReaderErrors, ScalarItemIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n- just text\n"),
            one("t.yaml:4:3: In item 2: an item must be a mapping starting with 'list:', "
                "'macro:' or 'rule:', not 'just text'"));
}

TEST(RuleFileReaderErrors, ItemWithTwoKindsIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  macro: m\n  condition: x\n"),
            one("t.yaml:2:3: In item 1: an item is one of list, macro or rule, but this one "
                "has both 'rule' and 'macro'"));
}

TEST(RuleFileReaderErrors, ItemWithNoKindIsRefused) {
  EXPECT_EQ(errors_of("- condition: x\n  action: release\n"),
            one("t.yaml:1:3: In item 1: an item must have one of 'list', 'macro' or 'rule'"));
}

TEST(RuleFileReaderErrors, EmptyNameIsRefused) {
  EXPECT_EQ(errors_of("- rule: \"\"\n  condition: x\n  action: release\n"),
            one("t.yaml:1:9: In item 1: the name of a rule must be a non-empty string, not ''"));
}

TEST(RuleFileReaderErrors, NameThatIsNotAStringIsRefused) {
  EXPECT_EQ(errors_of("- list: [a, b]\n  items: [c]\n"),
            one("t.yaml:1:9: In item 1: the name of a list must be a non-empty string, "
                "not a list"));
}

TEST(RuleFileReaderErrors, TagsMustHoldOnlyStrings) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  tags: [a, [b]]\n"),
            one("t.yaml:4:13: In rule 'r': 'tags' must hold only strings, not a list"));
}

TEST(RuleFileReaderErrors, UnknownKeySuggestsTheNearMiss) {
  EXPECT_EQ(errors_of("- rule: r\n  conditon: spf = pass\n  condition: spf = pass\n"
                      "  action: release\n"),
            one("t.yaml:2:3: In rule 'r': unknown key 'conditon' for a rule "
                "(did you mean 'condition'?)"));
}

TEST(RuleFileReaderErrors, UnknownKeyFarFromAnyKnownKeyHasNoSuggestion) {
  EXPECT_EQ(errors_of("- macro: m\n  condition: x\n  severity: high\n"),
            one("t.yaml:3:3: In macro 'm': unknown key 'severity' for a macro"));
}

TEST(RuleFileReaderErrors, DuplicateKeyIsReportedAtItsSecondOccurrence) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: spf = pass\n  action: release\n"
                      "  condition: dkim = pass\n"),
            one("t.yaml:4:3: In rule 'r': key 'condition' is given twice (first at line 2); "
                "keep one"));
}

TEST(RuleFileReaderErrors, EnabledMustBeABoolean) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  enabled: sometimes\n"),
            one("t.yaml:4:12: In rule 'r': 'enabled' must be true or false, not 'sometimes'"));
}

TEST(RuleFileReaderErrors, TagsMustBeAList) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  tags: phish\n"),
            one("t.yaml:4:9: In rule 'r': 'tags' must be a list of strings, like [a, b], "
                "not 'phish'"));
}

TEST(RuleFileReaderErrors, BadModeSuggestsTheClosest) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  mode: audti\n"),
            one("t.yaml:4:9: In rule 'r': 'mode' must be 'enforce' or 'audit', not 'audti' "
                "(did you mean 'audit'?)"));
}

TEST(RuleFileReaderErrors, BadOverrideIsRefused) {
  EXPECT_EQ(errors_of("- list: l\n  items: [a]\n  override: merge\n"),
            one("t.yaml:3:13: In list 'l': 'override' must be 'replace' or 'append', "
                "not 'merge'"));
}

TEST(RuleFileReaderErrors, BadApproveSuggestsRequired) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  approve: require\n"),
            one("t.yaml:4:12: In rule 'r': 'approve' must be 'required', not 'require' "
                "(did you mean 'required'?)"));
}

TEST(RuleFileReaderErrors, RuleWithoutConditionIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  action: release\n"),
            one("t.yaml:1:3: In rule 'r': a rule needs 'condition'"));
}

TEST(RuleFileReaderErrors, MacroWithoutConditionIsRefused) {
  EXPECT_EQ(errors_of("- macro: m\n"), one("t.yaml:1:3: In macro 'm': a macro needs 'condition'"));
}

TEST(RuleFileReaderErrors, RuleWithoutActionIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n"),
            one("t.yaml:1:3: In rule 'r': a rule needs 'action'"));
}

TEST(RuleFileReaderErrors, EmptyActionIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: \"\"\n"),
            one("t.yaml:3:11: In rule 'r': 'action' is empty"));
}

TEST(RuleFileReaderErrors, AppendCannotChangeTheAction) {
  EXPECT_EQ(errors_of("- rule: r\n  override: append\n  condition: x\n  action: release\n"),
            one("t.yaml:4:3: In rule 'r': 'override: append' can only add 'condition' or "
                "'exceptions'; use 'override: replace' to change 'action'"));
}

TEST(RuleFileReaderErrors, ExceptionWithoutNameIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  exceptions:\n"
                      "    - condition: y\n"),
            one("t.yaml:5:7: In rule 'r': exception 1 needs 'name'"));
}

TEST(RuleFileReaderErrors, ItemsMustBeAList) {
  EXPECT_EQ(errors_of("- list: l\n  items: a, b\n"),
            one("t.yaml:2:10: In list 'l': 'items' must be a list of strings, like [a, b], "
                "not 'a, b'"));
}

TEST(RuleFileReaderErrors, ListWithoutItemsIsRefused) {
  EXPECT_EQ(errors_of("- list: l\n"), one("t.yaml:1:3: In list 'l': a list needs 'items'"));
}

TEST(RuleFileReaderErrors, NegativeMaxPerCycleIsRefused) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  max_per_cycle: -1\n"),
            one("t.yaml:4:18: In rule 'r': 'max_per_cycle' must be a non-negative integer, "
                "not '-1'"));
}

TEST(RuleFileReaderErrors, SecondDocumentIsRefused) {
  EXPECT_EQ(errors_of("- list: l\n  items: [a]\n---\n- list: m\n  items: [b]\n"),
            one("t.yaml:3:1: a rules file holds one YAML document; remove the '---' separator"));
}

TEST(RuleFileReaderErrors, ReportsEveryErrorOfEveryItemInOrder) {
  const auto file = read_rule_file("t.yaml", R"yaml(- list: good
  items: [a]
- rule: first
  condition: x
  action: release
  enabled: maybe
- macro: second
  condition: y
  override: merge
- rule: third
  condition: z
  action: ""
)yaml");
  std::vector<std::string> messages;
  for (const auto& error : file.errors) messages.push_back(to_string(error));
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "t.yaml:6:12: In rule 'first': 'enabled' must be true or false, "
                          "not 'maybe'",
                          "t.yaml:9:13: In macro 'second': 'override' must be 'replace' or "
                          "'append', not 'merge'",
                          "t.yaml:12:11: In rule 'third': 'action' is empty",
                      }));
  // Only the well-formed item is kept.
  ASSERT_EQ(file.definitions.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<ListDefinition>(file.definitions[0]));
}

// ---- hostile input ---------------------------------------------------------------

TEST(RuleFileReaderErrors, DeeplyNestedYamlBecomesAnErrorNotACrash) {
  const std::string nested = "- rule: r\n  condition: " + std::string(100000, '[') +
                             std::string(100000, ']') + "\n";
  const auto errors = errors_of(nested);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(": invalid YAML: nested too deeply; a rules file needs only a few "
                           "levels"),
            std::string::npos)
      << errors[0];
}

TEST(RuleFileReaderErrors, UnterminatedDeepNestingBecomesALocatedError) {
  const auto errors = errors_of("- rule: r\n  condition: " + std::string(100000, '[') + "\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("t.yaml:", 0), 0u);
}

TEST(RuleFileReaderErrors, OmittedValueIsReportedAtItsKey) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action:\n  enabled: true\n"),
            one("t.yaml:3:3: In rule 'r': 'action' is empty"));
}

TEST(RuleFileReaderErrors, ExceptionsMustBeMappings) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: x\n  action: release\n  exceptions: [1]\n"),
            one("t.yaml:4:16: In rule 'r': exception 1 must be a mapping with 'name' and "
                "'condition', not '1'"));
}

TEST(RuleFileReaderErrors, ReadsAHugeFile) {
  std::string yaml;
  for (int i = 0; i < 5000; ++i) {
    yaml += "- list: l" + std::to_string(i) + "\n  items: [a, b, c]\n";
  }
  const auto file = read_rule_file("t.yaml", yaml);
  EXPECT_TRUE(file.errors.empty());
  EXPECT_EQ(file.definitions.size(), 5000u);
}

// ---- showing errors --------------------------------------------------------------

TEST(SourceSnippet, PutsACaretUnderTheColumn) {
  EXPECT_EQ(source_snippet("- rule: r\n  condition: dispositon = MALICIOUS\n", 2, 14),
            "  condition: dispositon = MALICIOUS\n             ^");
}

TEST(SourceSnippet, IsEmptyForALineThatDoesNotExist) {
  EXPECT_EQ(source_snippet("one line\n", 5, 1), "");
}

TEST(FormatError, RendersPositionContextMessageAndSnippet) {
  const std::string yaml = "- rule: r\n  condition: x\n  action: release\n  mode: audti\n";
  const auto file = read_rule_file("rules/10.yaml", yaml);
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_EQ(format_error(file.errors[0], yaml),
            "rules/10.yaml:4:9: In rule 'r': 'mode' must be 'enforce' or 'audit', not 'audti' "
            "(did you mean 'audit'?)\n"
            "  mode: audti\n"
            "        ^");
}

}  // namespace
}  // namespace qtriage::rules

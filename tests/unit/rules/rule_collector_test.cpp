// collect_rules: load order across files, redefinitions and overrides of
// lists, macros and rules, where each collected item came from, and every
// collection mistake reported with both positions, in order.

#include "qtriage/rules/rule_collector.hpp"
#include "qtriage/rules/rule_file_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qtriage::rules {
namespace {

// Each pair is a file name and its YAML, in load order.
CollectedRuleSet collect(std::vector<std::pair<std::string, std::string>> files) {
  std::vector<RuleFile> read;
  for (const auto& [name, yaml] : files) read.push_back(read_rule_file(name, yaml));
  return collect_rules(read);
}

std::vector<std::string> errors_of(const CollectedRuleSet& set) {
  std::vector<std::string> messages;
  for (const auto& error : set.errors) messages.push_back(to_string(error));
  return messages;
}

std::vector<std::string> rule_names(const CollectedRuleSet& set) {
  std::vector<std::string> names;
  for (const auto& rule : set.rules) names.push_back(rule.name());
  return names;
}

std::vector<std::string> part_texts(const std::vector<ConditionPart>& parts) {
  std::vector<std::string> texts;
  for (const auto& part : parts) texts.push_back(part.file + ": " + part.text.text);
  return texts;
}

TEST(RuleCollector, KeepsRulesInFileOrderThenPositionOrder) {
  const auto set = collect({{"10-a.yaml", R"yaml(- rule: b
  condition: quarantined
  action: release
- rule: a
  condition: quarantined
  action: release
)yaml"},
                            {"20-b.yaml", R"yaml(- rule: c
  condition: quarantined
  action: release
)yaml"}});
  ASSERT_TRUE(set.errors.empty()) << errors_of(set).front();
  EXPECT_EQ(rule_names(set), (std::vector<std::string>{"b", "a", "c"}));
  ASSERT_NE(set.find_rule("c"), nullptr);
  EXPECT_EQ(set.find_rule("c")->definition.file, "20-b.yaml");
  EXPECT_EQ(set.find_rule("missing"), nullptr);
}

TEST(RuleCollector, ReportsSilentRedefinitionOfListMacroAndRuleWithBothPositions) {
  const auto set = collect({{"10-a.yaml", R"yaml(- list: l
  items: [x]
- macro: m
  condition: quarantined
- rule: r
  condition: m
  action: release
)yaml"},
                            {"20-b.yaml", R"yaml(- list: l
  items: [y]
- macro: m
  condition: not quarantined
- rule: r
  condition: m
  action: release
)yaml"}});
  EXPECT_EQ(errors_of(set),
            (std::vector<std::string>{
                "20-b.yaml:1:9: In list 'l': list 'l' is already defined at 10-a.yaml:1; "
                "to change it, add override: replace or override: append",
                "20-b.yaml:3:10: In macro 'm': macro 'm' is already defined at 10-a.yaml:3; "
                "to change it, add override: replace or override: append",
                "20-b.yaml:5:9: In rule 'r': rule 'r' is already defined at 10-a.yaml:5; "
                "to change it, add override: replace or override: append"}));
  // The first definition stays; the redefinition is left out.
  ASSERT_EQ(set.lists.at("l").items.size(), 1u);
  EXPECT_EQ(set.lists.at("l").items[0].value.value, "x");
  EXPECT_EQ(set.lists.at("l").sites.size(), 1u);
}

TEST(RuleCollector, ReportsOverrideOfNameNotDefinedBeforeIt) {
  const auto set = collect({{"10-a.yaml", R"yaml(- list: l
  items: [x]
  override: append
- rule: r
  condition: quarantined
  override: replace
  action: release
- rule: r
  condition: quarantined
  action: release
)yaml"}});
  EXPECT_EQ(errors_of(set),
            (std::vector<std::string>{
                "10-a.yaml:3:13: In list 'l': 'override: append' overrides list 'l', which is "
                "not defined before it",
                "10-a.yaml:6:13: In rule 'r': 'override: replace' overrides rule 'r', which is "
                "not defined before it"}));
  EXPECT_TRUE(set.lists.empty());
  // Defined after the failed override, the rule itself is fine.
  EXPECT_EQ(rule_names(set), (std::vector<std::string>{"r"}));
}

TEST(RuleCollector, ReplaceSubstitutesTheRuleButKeepsItsOriginalPlaceInTheOrder) {
  const auto set = collect({{"10-a.yaml", R"yaml(- rule: first
  condition: quarantined
  exceptions:
    - name: old
      condition: spf = pass
  action: release
- rule: second
  condition: quarantined
  action: release
)yaml"},
                            {"20-b.yaml", R"yaml(- rule: first
  condition: not quarantined
  action: move Inbox
  override: replace
)yaml"}});
  ASSERT_TRUE(set.errors.empty()) << errors_of(set).front();
  EXPECT_EQ(rule_names(set), (std::vector<std::string>{"first", "second"}));
  const CollectedRule& first = set.rules[0];
  EXPECT_EQ(part_texts(first.condition_parts),
            (std::vector<std::string>{"20-b.yaml: not quarantined"}));
  EXPECT_TRUE(first.exceptions.empty());
  ASSERT_TRUE(first.definition.action.has_value());
  EXPECT_EQ(first.definition.action->value, "move Inbox");
  EXPECT_EQ(first.definition.file, "20-b.yaml");
  EXPECT_EQ(first.sites, (std::vector<DefinitionSite>{
                             {"10-a.yaml", {1, 3}, OverrideKind::none},
                             {"20-b.yaml", {1, 3}, OverrideKind::replace}}));
}

TEST(RuleCollector, AppendAddsListItemsInOrderKeepingDuplicates) {
  const auto set = collect({{"10-a.yaml", "- list: l\n  items: [x, y]\n"},
                            {"20-b.yaml", "- list: l\n  items: [y, z]\n  override: append\n"}});
  ASSERT_TRUE(set.errors.empty()) << errors_of(set).front();
  const CollectedList& list = set.lists.at("l");
  std::vector<std::string> items;
  for (const auto& item : list.items) items.push_back(item.file + ": " + item.value.value);
  EXPECT_EQ(items, (std::vector<std::string>{"10-a.yaml: x", "10-a.yaml: y", "20-b.yaml: y",
                                             "20-b.yaml: z"}));
  EXPECT_EQ(list.items[3].value.at, (FilePosition{2, 14}));
  EXPECT_EQ(list.sites, (std::vector<DefinitionSite>{
                            {"10-a.yaml", {1, 3}, OverrideKind::none},
                            {"20-b.yaml", {1, 3}, OverrideKind::append}}));
}

TEST(RuleCollector, ReplaceOfListDropsTheEarlierItems) {
  const auto set = collect({{"10-a.yaml", "- list: l\n  items: [x]\n"},
                            {"20-b.yaml", "- list: l\n  items: [z]\n  override: replace\n"}});
  ASSERT_TRUE(set.errors.empty()) << errors_of(set).front();
  ASSERT_EQ(set.lists.at("l").items.size(), 1u);
  EXPECT_EQ(set.lists.at("l").items[0].value.value, "z");
}

TEST(RuleCollector, AppendToMacroKeepsEachConditionPartWithItsFileAndPosition) {
  const auto set = collect({{"10-a.yaml", "- macro: m\n  condition: spf = pass\n"},
                            {"20-b.yaml", "\n- macro: m\n  override: append\n"
                                          "  condition: dkim = pass\n"}});
  ASSERT_TRUE(set.errors.empty()) << errors_of(set).front();
  const CollectedMacro& macro = set.macros.at("m");
  EXPECT_EQ(part_texts(macro.condition_parts),
            (std::vector<std::string>{"10-a.yaml: spf = pass", "20-b.yaml: dkim = pass"}));
  EXPECT_EQ(macro.condition_parts[0].text.text_at, (FilePosition{2, 14}));
  EXPECT_EQ(macro.condition_parts[1].text.text_at, (FilePosition{4, 14}));
  EXPECT_EQ(macro.sites.size(), 2u);
}

TEST(RuleCollector, AppendToRuleAddsConditionPartAndExceptionsKeepingTheRest) {
  const auto set = collect({{"10-a.yaml", R"yaml(- rule: r
  condition: quarantined
  exceptions:
    - name: first
      condition: spf = pass
  action: release
  tags: [t]
)yaml"},
                            {"20-b.yaml", R"yaml(- rule: r
  override: append
  condition: disposition = BULK
  exceptions:
    - name: second
      condition: dkim = pass
- rule: r
  override: append
  exceptions:
    - name: third
      condition: dmarc = pass
)yaml"}});
  ASSERT_TRUE(set.errors.empty()) << errors_of(set).front();
  const CollectedRule& rule = set.rules.at(0);
  EXPECT_EQ(part_texts(rule.condition_parts),
            (std::vector<std::string>{"10-a.yaml: quarantined", "20-b.yaml: disposition = BULK"}));
  std::vector<std::string> exceptions;
  for (const auto& exception : rule.exceptions) {
    exceptions.push_back(exception.file + ": " + exception.definition.name.value);
  }
  EXPECT_EQ(exceptions, (std::vector<std::string>{"10-a.yaml: first", "20-b.yaml: second",
                                                  "20-b.yaml: third"}));
  EXPECT_EQ(rule.definition.action->value, "release");
  EXPECT_EQ(rule.definition.tags.size(), 1u);
  EXPECT_EQ(rule.definition.file, "10-a.yaml");
  EXPECT_EQ(rule.sites.size(), 3u);
  EXPECT_EQ(rule.sites[2], (DefinitionSite{"20-b.yaml", {7, 3}, OverrideKind::append}));
}

TEST(RuleCollector, ListsMacrosAndRulesAreSeparateNamespaces) {
  const auto set = collect({{"10-a.yaml", R"yaml(- list: shared
  items: [x]
- macro: shared
  condition: quarantined
- rule: shared
  condition: shared
  action: release
)yaml"}});
  EXPECT_TRUE(set.errors.empty());
  EXPECT_EQ(set.lists.count("shared"), 1u);
  EXPECT_EQ(set.macros.count("shared"), 1u);
  EXPECT_EQ(rule_names(set), (std::vector<std::string>{"shared"}));
}

TEST(RuleCollector, ReportsEveryErrorOfTheSetInLoadOrderAfterEachFilesReaderErrors) {
  const auto set = collect({{"10-a.yaml", R"yaml(- list: l
  items: [x]
- list: l
  items: [y]
- macro: m
  override: append
  condition: quarantined
)yaml"},
                            {"20-b.yaml", R"yaml(- rule: r
  action: release
- rule: r
  override: append
  condition: quarantined
)yaml"}});
  // The reader drops the rule without a condition, so the append has nothing
  // to extend: both are reported.
  EXPECT_EQ(errors_of(set),
            (std::vector<std::string>{
                "10-a.yaml:3:9: In list 'l': list 'l' is already defined at 10-a.yaml:1; "
                "to change it, add override: replace or override: append",
                "10-a.yaml:6:13: In macro 'm': 'override: append' overrides macro 'm', which is "
                "not defined before it",
                "20-b.yaml:1:3: In rule 'r': a rule needs 'condition'",
                "20-b.yaml:4:13: In rule 'r': 'override: append' overrides rule 'r', which is "
                "not defined before it"}));
  EXPECT_TRUE(set.rules.empty());
}

}  // namespace
}  // namespace qtriage::rules

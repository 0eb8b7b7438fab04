// locate_in_file: a position inside a condition's text mapped back to the
// rules file, for plain, folded (`>`) and literal (`|`) scalars, with and
// without the file's text.

#include "../../../src/rules/condition_position.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qtriage::rules {
namespace {

// The file position of the first `needle` in `condition.text`.
FilePosition at(const ConditionText& condition, std::string_view needle,
                std::string_view file_text) {
  const auto offset = condition.text.find(needle);
  EXPECT_NE(offset, std::string::npos) << needle;
  return locate_in_file(condition, offset, file_text);
}

TEST(ConditionPosition, PlainScalarMapsColumnForColumn) {
  const std::string file = "- rule: r\n  condition: quarantined and spf = pass\n";
  const ConditionText condition{"quarantined and spf = pass", {2, 14}};
  EXPECT_EQ(at(condition, "quarantined", file), (FilePosition{2, 14}));
  EXPECT_EQ(at(condition, "spf", file), (FilePosition{2, 30}));
}

TEST(ConditionPosition, FoldedScalarMapsEachLine) {
  const std::string file =
      "- rule: r\n  condition: >\n    quarantined\n      and spf = pass\n    and   dkim = fail\n";
  const ConditionText condition{"quarantined and spf = pass and   dkim = fail\n", {3, 5}};
  EXPECT_EQ(at(condition, "quarantined", file), (FilePosition{3, 5}));
  EXPECT_EQ(at(condition, "and spf", file), (FilePosition{4, 7}));
  EXPECT_EQ(at(condition, "spf", file), (FilePosition{4, 11}));
  EXPECT_EQ(at(condition, "dkim", file), (FilePosition{5, 11}));
  EXPECT_EQ(at(condition, "fail", file), (FilePosition{5, 18}));
}

TEST(ConditionPosition, FoldedScalarWithABlankLineMapsPastIt) {
  const std::string file = "- rule: r\n  condition: >\n    quarantined\n\n    and spf = pass\n";
  const ConditionText condition{"quarantined\nand spf = pass\n", {3, 5}};
  EXPECT_EQ(at(condition, "and", file), (FilePosition{5, 5}));
  EXPECT_EQ(at(condition, "pass", file), (FilePosition{5, 15}));
}

TEST(ConditionPosition, LiteralBlockKeepsItsLines) {
  const std::string file =
      "- rule: r\n  condition: |\n    quarantined and\n    any(findings,\n        _.scor > 1)\n";
  const ConditionText condition{"quarantined and\nany(findings,\n    _.scor > 1)\n", {3, 5}};
  EXPECT_EQ(at(condition, "any", file), (FilePosition{4, 5}));
  EXPECT_EQ(at(condition, "_.scor", file), (FilePosition{5, 9}));
}

TEST(ConditionPosition, WithoutTheFileLinesStartAtTheFirstLinesColumn) {
  const ConditionText condition{"quarantined and\nany(findings,\n    _.scor > 1)\n", {3, 5}};
  EXPECT_EQ(at(condition, "_.scor", ""), (FilePosition{5, 9}));
  EXPECT_EQ(at(condition, "quarantined", ""), (FilePosition{3, 5}));
}

TEST(ConditionPosition, OffsetPastTheEndIsTheEndOfTheCondition) {
  const std::string file = "- macro: m\n  condition: quarantined\n";
  const ConditionText condition{"quarantined", {2, 14}};
  EXPECT_EQ(locate_in_file(condition, 11, file), (FilePosition{2, 25}));
  EXPECT_EQ(locate_in_file(condition, 500, file), (FilePosition{2, 25}));
}

TEST(ConditionPosition, DoubleQuotedScalarCountsEachEscapeAsOneCharacter) {
  // YAML turned `\"` into `"` and `\\` into `\`.
  const std::string file = "- rule: r\n  condition: \"subject = \\\"a\\\\\\\" and spf = x\"\n";
  const ConditionText condition{"subject = \"a\\\" and spf = x", {2, 15}};
  EXPECT_EQ(at(condition, "subject", file), (FilePosition{2, 15}));
  EXPECT_EQ(at(condition, "spf", file), (FilePosition{2, 37}));
}

TEST(ConditionPosition, SingleQuotedScalarCountsADoubledQuoteAsOne) {
  const std::string file = "- rule: r\n  condition: 'subject = ''a'' and spf = x'\n";
  const ConditionText condition{"subject = 'a' and spf = x", {2, 15}};
  EXPECT_EQ(at(condition, "spf", file), (FilePosition{2, 35}));
}

TEST(ConditionPosition, DoubleQuotedScalarOverLinesWithAnEscapedBreak) {
  const std::string file =
      "- rule: r\n  condition: \"quarantined and\n    spf = pa\\\n    ss and dkim = x\"\n";
  const ConditionText condition{"quarantined and spf = pass and dkim = x", {2, 15}};
  EXPECT_EQ(at(condition, "spf", file), (FilePosition{3, 5}));
  EXPECT_EQ(at(condition, "dkim", file), (FilePosition{4, 12}));
}

}  // namespace
}  // namespace qtriage::rules

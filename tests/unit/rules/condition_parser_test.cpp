// parse_condition: precedence, every construct of the grammar, the examples of
// rules.md, positions in multi-line text, and the exact message and position
// of each kind of mistake a rule author makes.

#include "qtriage/rules/condition_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>

namespace qtriage::rules {
namespace {

// The canonical form of a condition that must parse, or the error as text.
std::string canonical(std::string_view text) {
  const auto expr = parse_condition(text);
  if (!expr) return "error: " + to_string(expr.error());
  return to_string(*expr);
}

ParseError error_of(std::string_view text) {
  const auto expr = parse_condition(text);
  if (expr) {
    ADD_FAILURE() << "parsed: " << text << " as " << to_string(*expr);
    return {};
  }
  return expr.error();
}

// ---- precedence and grouping ---------------------------------------------------

TEST(ConditionParser, NotBindsTighterThanAnd) {
  EXPECT_EQ(canonical("not a and b"), "((not a) and b)");
}

TEST(ConditionParser, AndBindsTighterThanOr) {
  EXPECT_EQ(canonical("a or b and c or d"), "(a or (b and c) or d)");
}

TEST(ConditionParser, ParenthesesOverridePrecedence) {
  EXPECT_EQ(canonical("(a or b) and not (c or d)"), "((a or b) and (not (c or d)))");
}

TEST(ConditionParser, ChainsOfTheSameConnectiveAreFlat) {
  EXPECT_EQ(canonical("a and b and c"), "(a and b and c)");
  EXPECT_EQ(canonical("a or b or c"), "(a or b or c)");
}

TEST(ConditionParser, NotNests) { EXPECT_EQ(canonical("not not a"), "(not (not a))"); }

TEST(ConditionParser, RedundantParenthesesDisappear) {
  EXPECT_EQ(canonical("((spf = pass))"), "(spf = pass)");
}

// ---- comparisons and operands --------------------------------------------------

TEST(ConditionParser, EveryComparisonOperatorParses) {
  for (const char* op : {"=", "!=", "<", "<=", ">", ">=", "in", "contains", "icontains",
                         "startswith", "endswith", "matches", "intersects", "in_cidr"}) {
    const std::string text = std::string("x ") + op + " y";
    EXPECT_EQ(canonical(text), "(" + text + ")");
  }
}

TEST(ConditionParser, SymbolicOperatorsNeedNoSpaces) {
  EXPECT_EQ(canonical("score>=0.8"), "(score >= 0.8)");
  EXPECT_EQ(canonical("spf!=pass"), "(spf != pass)");
}

TEST(ConditionParser, ExistsIsAPostfixTest) {
  EXPECT_EQ(canonical("replyto exists and not sender.ip exists"),
            "((replyto exists) and (not (sender.ip exists)))");
}

TEST(ConditionParser, ABareNameAloneIsAReference) {
  const auto expr = parse_condition("quarantined");
  ASSERT_TRUE(expr);
  const auto* reference = std::get_if<Reference>(&expr->node);
  ASSERT_NE(reference, nullptr);
  EXPECT_EQ(std::get<Name>(reference->target.value).text, "quarantined");
}

TEST(ConditionParser, ListLiteralsHoldMixedValues) {
  EXPECT_EQ(canonical("x in (a, \"b c\", 3, 0.5, 2h, true, MALICIOUS-BEC)"),
            "(x in (a, \"b c\", 3, 0.5, 2h, true, MALICIOUS-BEC))");
}

TEST(ConditionParser, ASingleValueInParenthesesAfterAnOperatorIsAList) {
  const auto expr = parse_condition("x in (a)");
  ASSERT_TRUE(expr);
  const auto& comparison = std::get<Comparison>(expr->node);
  ASSERT_TRUE(std::holds_alternative<ListLiteral>(comparison.right.value));
  EXPECT_EQ(std::get<ListLiteral>(comparison.right.value).items.size(), 1U);
}

TEST(ConditionParser, QuotedStringsKeepTheirEscapedCharacters) {
  const auto expr = parse_condition(R"(subject matches "^\"Invoice\" \\ \d+$")");
  ASSERT_TRUE(expr);
  const auto& right = std::get<Comparison>(expr->node).right;
  EXPECT_EQ(std::get<StringLiteral>(right.value).value, R"(^"Invoice" \ \d+$)");
  // Every backslash is escaped in the canonical form, so it reads back the same.
  EXPECT_EQ(to_string(*expr), R"((subject matches "^\"Invoice\" \\ \\d+$"))");
  EXPECT_EQ(canonical("from_name = 'O\\'Brien'"), "(from_name = \"O'Brien\")");
}

TEST(ConditionParser, DurationsAreSeconds) {
  const auto expr = parse_condition("age > 2h");
  ASSERT_TRUE(expr);
  const auto& right = std::get<Comparison>(expr->node).right;
  EXPECT_EQ(std::get<DurationLiteral>(right.value).value, std::chrono::hours{2});
  EXPECT_EQ(canonical("age >= 30s or age < 15m or age < 7d or age < 90m"),
            "((age >= 30s) or (age < 15m) or (age < 7d) or (age < 90m))");
}

TEST(ConditionParser, NumbersMayHaveAFractionOrASign) {
  EXPECT_EQ(canonical("_.score >= 0.8"), "(_.score >= 0.8)");
  EXPECT_EQ(canonical("x > 1.5 and y > -2"), "((x > 1.5) and (y > -2))");
}

TEST(ConditionParser, BooleansAreLiterals) {
  const auto expr = parse_condition("blocklisted = false");
  ASSERT_TRUE(expr);
  const auto& right = std::get<Comparison>(expr->node).right;
  EXPECT_FALSE(std::get<BooleanLiteral>(right.value).value);
  EXPECT_EQ(canonical("quarantined != true"), "(quarantined != true)");
}

TEST(ConditionParser, KeywordsCanBeValuesWhenQuoted) {
  EXPECT_EQ(canonical("subject contains \"and\""), "(subject contains \"and\")");
}

TEST(ConditionParser, AddressesAndNetworksAreBareWords) {
  EXPECT_EQ(canonical("sender.ip in_cidr (10.0.0.0/8, 192.168.0.0/16) or from = ceo@example.com"),
            "((sender.ip in_cidr (10.0.0.0/8, 192.168.0.0/16)) or (from = ceo@example.com))");
}

// ---- quantifiers ---------------------------------------------------------------

TEST(ConditionParser, AnyAndAllTakeACollectionAndACondition) {
  EXPECT_EQ(canonical("any(recipients, _ in executive_mailboxes)"),
            "any(recipients, (_ in executive_mailboxes))");
  EXPECT_EQ(canonical("all(attachments, not _.encrypted)"), "all(attachments, (not _.encrypted))");
}

TEST(ConditionParser, UnderscoreAndItsMembersAreElements) {
  const auto expr = parse_condition("any(findings, _.detection = MALICIOUS and _ exists)");
  ASSERT_TRUE(expr);
  const auto& body = *std::get<Quantifier>(expr->node).body;
  const auto& conjuncts = std::get<And>(body.node).operands;
  const auto& left = std::get<Comparison>(conjuncts[0].node).left;
  EXPECT_EQ(std::get<Element>(left.value).member, "detection");
  EXPECT_EQ(std::get<Element>(std::get<Exists>(conjuncts[1].node).subject.value).member, "");
}

TEST(ConditionParser, CountWithAndWithoutABody) {
  EXPECT_EQ(canonical("count(findings) > 2"), "(count(findings) > 2)");
  EXPECT_EQ(canonical("count(findings, _.score >= 0.5) >= 1"),
            "(count(findings, (_.score >= 0.5)) >= 1)");
  const auto expr = parse_condition("count(links) = 0");
  ASSERT_TRUE(expr);
  const auto& count = std::get<Count>(expr->node);
  EXPECT_EQ(count.body, nullptr);
  EXPECT_EQ(count.op, ComparisonOperator::equal);
  EXPECT_EQ(count.threshold.value, 0);
}

TEST(ConditionParser, QuantifiersNest) {
  EXPECT_EQ(canonical("any(findings, count(links) > 1 or all(attachments, _.size < 10))"),
            "any(findings, ((count(links) > 1) or all(attachments, (_.size < 10))))");
}

// ---- the examples of rules.md --------------------------------------------------

TEST(ConditionParser, EveryConditionInTheSpecificationParses) {
  EXPECT_EQ(canonical("spf = pass and dkim = pass and dmarc = pass"),
            "((spf = pass) and (dkim = pass) and (dmarc = pass))");
  EXPECT_EQ(canonical("disposition in (MALICIOUS, MALICIOUS-BEC)\n"
                      "and not quarantined\n"
                      "and threat_categories intersects credential_threats\n"),
            "((disposition in (MALICIOUS, MALICIOUS-BEC)) and (not quarantined) and "
            "(threat_categories intersects credential_threats))");
  EXPECT_EQ(canonical("any(recipients, _ in executive_mailboxes)"),
            "any(recipients, (_ in executive_mailboxes))");
  EXPECT_EQ(canonical("quarantined and disposition = BULK and fully_authenticated\n"
                      "and from_domain in (example.com, example.org)\n"),
            "(quarantined and (disposition = BULK) and fully_authenticated and "
            "(from_domain in (example.com, example.org)))");
  EXPECT_EQ(canonical("disposition = MALICOUS"), "(disposition = MALICOUS)");
  EXPECT_EQ(canonical("disposition = \"GRAYMAIL\""), "(disposition = \"GRAYMAIL\")");
  EXPECT_EQ(canonical("age > 1h"), "(age > 1h)");
  EXPECT_EQ(canonical("quarantined"), "quarantined");
  EXPECT_EQ(canonical("any(attachments, _.encrypted)"), "any(attachments, _.encrypted)");
  EXPECT_EQ(canonical("any(findings, _.detection = MALICIOUS and _.score >= 0.8)"),
            "any(findings, ((_.detection = MALICIOUS) and (_.score >= 0.8)))");
  EXPECT_EQ(canonical("not (x = y)"), "(not (x = y))");
}

TEST(ConditionParser, TheCanonicalFormParsesToItself) {
  for (const char* text :
       {"a or b and not c", "x in (a, \"q\\\"uote\", 2, 7d)", "count(findings, _ exists) != 3",
        "any(recipients, _ endswith \"@example.com\") and age > 90m"}) {
    const std::string once = canonical(text);
    EXPECT_EQ(canonical(once), once) << text;
  }
}

// ---- positions -----------------------------------------------------------------

TEST(ConditionParser, NodesCarryTheirPositionAcrossLines) {
  const auto expr = parse_condition("quarantined\n  and disposition = BULK");
  ASSERT_TRUE(expr);
  const auto& conjuncts = std::get<And>(expr->node).operands;
  EXPECT_EQ(conjuncts[0].at, (SourcePosition{0, 1, 1}));
  EXPECT_EQ(conjuncts[1].at, (SourcePosition{18, 2, 7}));
  const auto& comparison = std::get<Comparison>(conjuncts[1].node);
  EXPECT_EQ(comparison.op_at, (SourcePosition{30, 2, 19}));
  EXPECT_EQ(comparison.right.at, (SourcePosition{32, 2, 21}));
}

TEST(ConditionParser, ErrorsInMultiLineConditionsNameLineAndColumn) {
  const auto unclosed = error_of("spf = pass\n  and (dkim = pass\n  or dmarc = pass");
  EXPECT_EQ(unclosed.message, "unclosed '(' opened at 2:7");
  EXPECT_EQ(unclosed.at, (SourcePosition{47, 3, 18}));

  const auto doubled = error_of("quarantined\nand disposition == BULK");
  EXPECT_EQ(doubled.message, "unknown operator '=='; did you mean '='?");
  EXPECT_EQ(doubled.at, (SourcePosition{28, 2, 17}));
}

TEST(ConditionParser, ValueOfAFailedParseThrowsTheLocatedMessage) {
  try {
    (void)parse_condition("a =\n  )").value();
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "2:3: '=' needs a value on its right");
  }
}

// ---- mistakes: exact message and position ---------------------------------------

struct Mistake {
  const char* text;
  std::size_t column;
  const char* message;
};

// Names the failing case by its text rather than its bytes.
void PrintTo(const Mistake& mistake, std::ostream* out) { *out << '"' << mistake.text << '"'; }

class ConditionParserMistakes : public testing::TestWithParam<Mistake> {};

TEST_P(ConditionParserMistakes, AreReportedWithAMessageAndColumn) {
  const auto& mistake = GetParam();
  const auto error = error_of(mistake.text);
  EXPECT_EQ(error.message, mistake.message) << mistake.text;
  EXPECT_EQ(error.at.line, 1U) << mistake.text;
  EXPECT_EQ(error.at.column, mistake.column) << mistake.text;
}

INSTANTIATE_TEST_SUITE_P(
    ConditionParser, ConditionParserMistakes,
    testing::Values(
        Mistake{"", 1, "the condition is empty"},
        Mistake{"disposition in", 15, "expected an operand after 'in'"},
        Mistake{"x in_cidr", 10, "expected an operand after 'in_cidr'"},
        Mistake{"(spf = pass", 12, "unclosed '(' opened at 1:1"},
        Mistake{"spf = pass)", 11, "unexpected ')'"},
        Mistake{"spf =", 6, "'=' needs a value on its right"},
        Mistake{"a = and b", 5, "'=' needs a value on its right"},
        Mistake{"spf == pass", 5, "unknown operator '=='; did you mean '='?"},
        Mistake{"spf = pass && dkim = pass", 12, "unknown operator '&&'; did you mean 'and'?"},
        Mistake{"x in (a b)", 9, "expected ',' or ')' in the list"},
        Mistake{"x in (a,", 9, "unclosed '(' opened at 1:6"},
        Mistake{"x in ()", 7, "a list needs at least one value, e.g. (a, b)"},
        Mistake{"x in (a, (b))", 10, "a list cannot hold another list or a condition"},
        Mistake{"count(findings) > high", 19,
                "count(...) must be compared with a number, e.g. count(findings) > 2"},
        Mistake{"count(findings)", 16,
                "count(...) must be compared with a number, e.g. count(findings) > 2"},
        Mistake{"count(findings) in (1, 2)", 17,
                "count(...) must be compared with a number, e.g. count(findings) > 2"},
        Mistake{"subject = \"abc", 11, "unterminated string: add the closing \""},
        Mistake{"spf = pass and", 15, "expected a condition after 'and'"},
        Mistake{"not", 4, "expected a condition after 'not'"},
        Mistake{"disposition MALICIOUS", 13,
                "expected an operator between 'disposition' and 'MALICIOUS'"},
        Mistake{"spf = pass AND dkim = pass", 12,
                "expected 'and', 'or' or the end of the condition, found 'AND'; keywords are "
                "lower case: did you mean 'and'?"},
        Mistake{"any findings", 5, "expected '(' after 'any', e.g. any(findings, _.score > 0.5)"},
        Mistake{"any(findings _.score > 1)", 14,
                "expected ',' and a condition after the collection, e.g. any(findings, _.score "
                "> 0.5)"},
        Mistake{"any(findings, _.score > 1", 26, "unclosed '(' opened at 1:4"},
        Mistake{"any(, x)", 5, "expected a collection after 'any(', e.g. any(findings, ...)"},
        Mistake{"\"abc\"", 6, "expected an operator after '\"abc\"': a value alone is not a condition"},
        Mistake{"x not in (a, b)", 3, "'not in' is not an operator; write not (x in ...)"},
        Mistake{"= pass", 1, "expected an operand before '='"},
        Mistake{"()", 2, "empty parentheses: expected a condition inside '()'"},
        Mistake{"(a, b) intersects c", 3,
                "unexpected ','; a list of values goes on the right of an operator, e.g. x in "
                "(a, b)"},
        Mistake{"_. = 3", 1, "expected a member name after '_.', e.g. _.score"},
        Mistake{"x = in", 5, "'=' needs a value on its right"},
        Mistake{"x = exists", 5, "'=' needs a value on its right"},
        Mistake{"x in (a, exists)", 10, "'exists' is a keyword; quote it to use it as a value"},
        Mistake{"a and or b", 7, "expected a condition, found 'or'"},
        Mistake{"x = 1 y", 7, "expected 'and', 'or' or the end of the condition, found 'y'"},
        Mistake{"x = #", 5, "unexpected character '#'"}));

// ---- hostile input -------------------------------------------------------------

TEST(ConditionParser, AcceptsNestingUpToTheLimit) {
  const std::size_t depth = max_condition_nesting;
  const std::string text = std::string(depth, '(') + "a" + std::string(depth, ')');
  EXPECT_EQ(canonical(text), "a");
}

TEST(ConditionParser, RefusesNestingBeyondTheLimitWithoutOverflowingTheStack) {
  const std::size_t depth = 100'000;
  const auto parens = error_of(std::string(depth, '(') + "a" + std::string(depth, ')'));
  EXPECT_EQ(parens.message, "the condition nests deeper than 200 levels");
  EXPECT_EQ(parens.at.column, 201U);

  std::string nots;
  for (std::size_t i = 0; i < depth; ++i) nots += "not ";
  EXPECT_EQ(error_of(nots + "a").message, "the condition nests deeper than 200 levels");

  std::string anys;
  for (std::size_t i = 0; i < depth; ++i) anys += "any(x, ";
  EXPECT_EQ(error_of(anys + "a").message, "the condition nests deeper than 200 levels");
}

TEST(ConditionParser, TerminatesOnArbitraryInput) {
  // Fragments of the language shuffled at random: whatever comes out, the
  // parser answers (a tree or an error) and the tree prints.
  const std::vector<std::string> fragments{
      "(", ")", ",", "and", "or", "not", "any", "all", "count", "=", "==", "<=", "in", "exists",
      "x", "_", "_.a", "\"s\"", "'t", "2", "7d", "true", " ", "\n", "&&", "(a, b)"};
  std::mt19937 random(12345);
  std::uniform_int_distribution<std::size_t> pick(0, fragments.size() - 1);
  std::uniform_int_distribution<int> length(0, 20);
  for (int round = 0; round < 20'000; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) text += fragments[pick(random)] + " ";
    const auto expr = parse_condition(text);
    if (expr) {
      EXPECT_EQ(canonical(to_string(*expr)), to_string(*expr)) << text;
    } else {
      EXPECT_FALSE(expr.error().message.empty()) << text;
      EXPECT_LE(expr.error().at.offset, text.size()) << text;
    }
  }
}

}  // namespace
}  // namespace qtriage::rules

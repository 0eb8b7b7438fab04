// lex_condition: words, strings with escapes, numbers, durations, symbols,
// and positions counted in lines and characters.

#include "qtriage/rules/condition_lexer.hpp"

#include <gtest/gtest.h>

namespace qtriage::rules {
namespace {

std::vector<Token> lexed(std::string_view text) {
  auto tokens = lex_condition(text);
  EXPECT_TRUE(tokens) << text;
  return tokens ? *tokens : std::vector<Token>{};
}

TEST(ConditionLexer, SplitsWordsSymbolsAndPunctuation) {
  const auto tokens = lexed("sender.ip in_cidr (a,b)!=");
  ASSERT_EQ(tokens.size(), 9U);
  EXPECT_EQ(tokens[0].kind, TokenKind::word);
  EXPECT_EQ(tokens[0].text, "sender.ip");
  EXPECT_EQ(tokens[1].text, "in_cidr");
  EXPECT_EQ(tokens[2].kind, TokenKind::left_paren);
  EXPECT_EQ(tokens[4].kind, TokenKind::comma);
  EXPECT_EQ(tokens[6].kind, TokenKind::right_paren);
  EXPECT_EQ(tokens[7].kind, TokenKind::symbol);
  EXPECT_EQ(tokens[7].text, "!=");
  EXPECT_EQ(tokens[8].kind, TokenKind::end);
}

TEST(ConditionLexer, BareWordsKeepDashesDotsAndAtSigns) {
  const auto tokens = lexed("MALICIOUS-BEC ceo@example.com _.detection 10.0.0.0/8");
  EXPECT_EQ(tokens[0].text, "MALICIOUS-BEC");
  EXPECT_EQ(tokens[1].text, "ceo@example.com");
  EXPECT_EQ(tokens[2].text, "_.detection");
  EXPECT_EQ(tokens[3].kind, TokenKind::word);
  EXPECT_EQ(tokens[3].text, "10.0.0.0/8");
}

TEST(ConditionLexer, NumbersAndDurations) {
  const auto tokens = lexed("2 0.8 -1 30s 15m 2h 7d");
  EXPECT_EQ(tokens[0].kind, TokenKind::number);
  EXPECT_EQ(tokens[0].number, 2);
  EXPECT_EQ(tokens[1].number, 0.8);
  EXPECT_EQ(tokens[2].number, -1);
  EXPECT_EQ(tokens[3].kind, TokenKind::duration);
  EXPECT_EQ(tokens[3].duration, std::chrono::seconds{30});
  EXPECT_EQ(tokens[4].duration, std::chrono::minutes{15});
  EXPECT_EQ(tokens[5].duration, std::chrono::hours{2});
  EXPECT_EQ(tokens[6].duration, std::chrono::hours{7 * 24});
}

TEST(ConditionLexer, StringEscapesOnlyQuoteAndBackslash) {
  const auto tokens = lexed(R"("say \"hi\" \\ \d" 'it\'s')");
  EXPECT_EQ(tokens[0].kind, TokenKind::string);
  EXPECT_EQ(tokens[0].value, R"(say "hi" \ \d)");
  EXPECT_EQ(tokens[1].value, "it's");
}

TEST(ConditionLexer, CountsLinesAndCharacters) {
  const auto tokens = lexed("a\n  \"é\" b");
  EXPECT_EQ(tokens[1].at, (SourcePosition{4, 2, 3}));
  EXPECT_EQ(tokens[2].at, (SourcePosition{9, 2, 7}));
}

TEST(ConditionLexer, UnterminatedStringIsReportedAtItsOpeningQuote) {
  const auto tokens = lex_condition("subject = 'abc");
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().at, (SourcePosition{10, 1, 11}));
  EXPECT_EQ(tokens.error().message, "unterminated string: add the closing '");
}

TEST(ConditionLexer, RejectsCharactersThatStartNoToken) {
  const auto tokens = lex_condition("a = #b");
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().message, "unexpected character '#'");
  EXPECT_EQ(tokens.error().at.column, 5U);
}

TEST(ConditionLexer, RejectsAnOverlongDuration) {
  const auto tokens = lex_condition("age > 99999999999999999999d");
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().message, "duration '99999999999999999999d' is too large");
}

}  // namespace
}  // namespace qtriage::rules

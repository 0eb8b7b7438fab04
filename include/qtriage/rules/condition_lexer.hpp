#pragma once
// Splits a condition into tokens. Keywords are not told apart from bare words
// here: the parser decides what a word means from where it stands.

#include "qtriage/rules/parse_error.hpp"
#include "qtriage/rules/source_position.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules {

enum class TokenKind {
  word,         // bare word: keyword, field, list name, enum value, `_`, `_.member`
  string,       // "..." or '...'; `value` holds the text without quotes and escapes
  number,       // 2, 0.8, -1
  duration,     // 30s, 15m, 2h, 7d
  symbol,       // a run of = ! < > & | ~; the parser checks it is a known operator
  left_paren,
  right_paren,
  comma,
  end,          // after the last token; `at` is the end of the text
};

struct Token {
  TokenKind kind = TokenKind::end;
  std::string_view text;  // as written, quotes included; points into the input
  SourcePosition at;
  std::string value;                  // kind == string
  double number = 0;                  // kind == number
  std::chrono::seconds duration{0};   // kind == duration
};

// The tokens of `text`, ending with one TokenKind::end token. Fails on an
// unterminated string or a character that cannot start a token.
boost::system::result<std::vector<Token>, ParseError> lex_condition(std::string_view text);

// Characters a bare word is made of: letters, digits and _ . - @ / :
// (enough for `sender.ip`, `MALICIOUS-BEC`, `ceo@example.com`, `10.0.0.0/8`).
bool is_word_character(char c);

}  // namespace qtriage::rules

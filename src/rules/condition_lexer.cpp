#include "qtriage/rules/condition_lexer.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

namespace qtriage::rules {

bool is_word_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '@' || c == '/' || c == ':';
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_symbol_character(char c) {
  return c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' || c == '~';
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// `-?digits(.digits)?`: a word that is a number rather than a name.
std::optional<double> as_number(std::string_view word) {
  std::size_t i = word.starts_with('-') ? 1 : 0;
  const std::size_t digits_start = i;
  while (i < word.size() && is_digit(word[i])) ++i;
  if (i == digits_start) return std::nullopt;
  if (i < word.size() && word[i] == '.') {
    const std::size_t fraction_start = ++i;
    while (i < word.size() && is_digit(word[i])) ++i;
    if (i == fraction_start) return std::nullopt;
  }
  if (i != word.size()) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (error != std::errc{} || end != word.data() + word.size()) return std::nullopt;
  return value;
}

// `digits(s|m|h|d)`: a word that is a duration. Too large to count in
// seconds is reported by the caller.
struct DurationWord {
  bool overflow = false;
  std::chrono::seconds value{0};
};
std::optional<DurationWord> as_duration(std::string_view word) {
  if (word.size() < 2) return std::nullopt;
  std::int64_t unit = 0;
  switch (word.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  const std::string_view digits = word.substr(0, word.size() - 1);
  for (const char c : digits) {
    if (!is_digit(c)) return std::nullopt;
  }
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (error != std::errc{} || end != digits.data() + digits.size() ||
      count > std::numeric_limits<std::int64_t>::max() / unit) {
    return DurationWord{true, {}};
  }
  return DurationWord{false, std::chrono::seconds{count * unit}};
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  boost::system::result<std::vector<Token>, ParseError> run() {
    std::vector<Token> tokens;
    while (true) {
      skip_space();
      if (done()) break;
      auto token = next();
      if (!token) return token.error();
      tokens.push_back(std::move(*token));
    }
    Token end;
    end.kind = TokenKind::end;
    end.at = here_;
    tokens.push_back(std::move(end));
    return tokens;
  }

 private:
  bool done() const { return here_.offset >= text_.size(); }
  char peek() const { return text_[here_.offset]; }

  // Moves one byte on, counting lines and characters (a UTF-8 continuation
  // byte does not start a new column).
  void advance() {
    const char c = text_[here_.offset++];
    if (c == '\n') {
      ++here_.line;
      here_.column = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) {
      ++here_.column;
    }
  }

  void skip_space() {
    while (!done() && is_space(peek())) advance();
  }

  Token make(TokenKind kind, SourcePosition start) const {
    Token token;
    token.kind = kind;
    token.at = start;
    token.text = text_.substr(start.offset, here_.offset - start.offset);
    return token;
  }

  boost::system::result<Token, ParseError> next() {
    const SourcePosition start = here_;
    const char c = peek();
    if (c == '(' || c == ')' || c == ',') {
      advance();
      return make(c == '(' ? TokenKind::left_paren
                  : c == ')' ? TokenKind::right_paren
                             : TokenKind::comma,
                  start);
    }
    if (c == '"' || c == '\'') return string(start, c);
    if (is_symbol_character(c)) {
      while (!done() && is_symbol_character(peek())) advance();
      return make(TokenKind::symbol, start);
    }
    if (is_word_character(c)) return word(start);
    return ParseError{start, "unexpected character '" + std::string(character_at(start.offset)) +
                                 "'"};
  }

  // The whole UTF-8 sequence starting at `offset`, for the message.
  std::string_view character_at(std::size_t offset) const {
    std::size_t end = offset + 1;
    while (end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0U) == 0x80U) ++end;
    return text_.substr(offset, end - offset);
  }

  boost::system::result<Token, ParseError> string(SourcePosition start, char quote) {
    advance();  // the opening quote
    std::string value;
    while (!done()) {
      const char c = peek();
      if (c == quote) {
        advance();
        Token token = make(TokenKind::string, start);
        token.value = std::move(value);
        return token;
      }
      // Only \<quote> and \\ are escapes; any other backslash is kept, so
      // regular expressions such as "^\d+$" read as written.
      if (c == '\\' && here_.offset + 1 < text_.size() &&
          (text_[here_.offset + 1] == quote || text_[here_.offset + 1] == '\\')) {
        advance();
        value += peek();
        advance();
        continue;
      }
      value += c;
      advance();
    }
    return ParseError{start, "unterminated string: add the closing " + std::string(1, quote)};
  }

  boost::system::result<Token, ParseError> word(SourcePosition start) {
    while (!done() && is_word_character(peek())) advance();
    Token token = make(TokenKind::word, start);
    if (!is_digit(token.text.front()) && token.text.front() != '-') return token;
    if (const auto number = as_number(token.text)) {
      token.kind = TokenKind::number;
      token.number = *number;
    } else if (const auto duration = as_duration(token.text)) {
      if (duration->overflow) {
        return ParseError{start, "duration '" + std::string(token.text) + "' is too large"};
      }
      token.kind = TokenKind::duration;
      token.duration = duration->value;
    }
    // Anything else starting with a digit (`10.0.0.0/8`, `2024-01-05`) stays a bare word.
    return token;
  }

  std::string_view text_;
  SourcePosition here_;
};

}  // namespace

boost::system::result<std::vector<Token>, ParseError> lex_condition(std::string_view text) {
  return Lexer(text).run();
}

}  // namespace qtriage::rules

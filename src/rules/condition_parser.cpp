// A recursive-descent parser, one function per grammar rule. The first error
// ends the parse: a rule author fixes one thing at a time, and a guess at
// recovery would only produce misleading follow-on errors.

#include "qtriage/rules/condition_parser.hpp"

#include "qtriage/rules/condition_lexer.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace qtriage::rules {
namespace {

struct OperatorSpelling {
  std::string_view text;
  ComparisonOperator op;
};
constexpr std::array<OperatorSpelling, 14> operator_spellings{{
    {"=", ComparisonOperator::equal},
    {"!=", ComparisonOperator::not_equal},
    {"<", ComparisonOperator::less},
    {"<=", ComparisonOperator::less_or_equal},
    {">", ComparisonOperator::greater},
    {">=", ComparisonOperator::greater_or_equal},
    {"in", ComparisonOperator::in},
    {"contains", ComparisonOperator::contains},
    {"icontains", ComparisonOperator::icontains},
    {"startswith", ComparisonOperator::startswith},
    {"endswith", ComparisonOperator::endswith},
    {"matches", ComparisonOperator::matches},
    {"intersects", ComparisonOperator::intersects},
    {"in_cidr", ComparisonOperator::in_cidr},
}};

// Words with a meaning of their own: never a bare name or value (quote them).
constexpr std::array<std::string_view, 17> keywords{
    "and", "or", "not", "exists", "any", "all", "count", "true", "false", "in",
    "contains", "icontains", "startswith", "endswith", "matches", "intersects", "in_cidr"};

bool is_keyword(std::string_view word) {
  return std::find(keywords.begin(), keywords.end(), word) != keywords.end();
}

// Spellings people bring from other languages, with what to write instead.
std::optional<std::string_view> suggestion_for(std::string_view symbol) {
  if (symbol == "==") return "=";
  if (symbol == "<>" || symbol == "=!" || symbol == "!==") return "!=";
  if (symbol == "=<") return "<=";
  if (symbol == "=>") return ">=";
  if (symbol == "&&" || symbol == "&") return "and";
  if (symbol == "||" || symbol == "|") return "or";
  if (symbol == "!") return "not";
  if (symbol == "=~" || symbol == "~" || symbol == "~=") return "matches";
  return std::nullopt;
}

std::string lower_case(std::string_view word) {
  std::string out(word);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  boost::system::result<Expr, ParseError> run() {
    if (current().kind == TokenKind::end) return fail(current().at, "the condition is empty");
    auto expr = parse_or();
    if (!expr) return expr;
    const Token& next = current();
    if (next.kind == TokenKind::end) return expr;
    if (next.kind == TokenKind::right_paren) return fail(next.at, "unexpected ')'");
    if (next.kind == TokenKind::symbol) return unknown_operator(next);
    return fail(next.at, "expected 'and', 'or' or the end of the condition, found " +
                             describe(next) + keyword_case_hint(next));
  }

 private:
  using ExprResult = boost::system::result<Expr, ParseError>;
  using OperandResult = boost::system::result<Operand, ParseError>;

  static ParseError fail(SourcePosition at, std::string message) {
    return ParseError{at, std::move(message)};
  }

  const Token& current() const { return tokens_[position_]; }
  const Token& peek_next() const {
    return tokens_[std::min(position_ + 1, tokens_.size() - 1)];
  }
  // The end token is never consumed, so current() is always valid.
  const Token& take() {
    const Token& token = tokens_[position_];
    if (token.kind != TokenKind::end) ++position_;
    return token;
  }
  bool at_word(std::string_view word) const {
    return current().kind == TokenKind::word && current().text == word;
  }

  static std::string describe(const Token& token) {
    return token.kind == TokenKind::end ? std::string("the end of the condition")
                                        : quote(token.text);
  }

  // "; did you mean 'and'?" when a keyword was written in upper case.
  static std::string keyword_case_hint(const Token& token) {
    if (token.kind != TokenKind::word || is_keyword(token.text)) return "";
    const std::string lower = lower_case(token.text);
    return is_keyword(lower) ? "; keywords are lower case: did you mean " + quote(lower) + "?"
                             : "";
  }

  static std::optional<ComparisonOperator> operator_of(const Token& token) {
    if (token.kind != TokenKind::word && token.kind != TokenKind::symbol) return std::nullopt;
    for (const auto& spelling : operator_spellings) {
      if (spelling.text == token.text) return spelling.op;
    }
    return std::nullopt;
  }

  static ParseError unknown_operator(const Token& token) {
    const auto suggestion = suggestion_for(token.text);
    return fail(token.at, "unknown operator " + quote(token.text) +
                              (suggestion ? "; did you mean " + quote(*suggestion) + "?" : ""));
  }

  // Guards every construct that recurses, so hostile input cannot exhaust the stack.
  class NestingGuard {
   public:
    explicit NestingGuard(std::size_t& depth) : depth_(depth) { ++depth_; }
    ~NestingGuard() { --depth_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;
    bool too_deep() const { return depth_ > max_condition_nesting; }

   private:
    std::size_t& depth_;
  };
  ParseError too_deep(const Token& token) const {
    return fail(token.at, "the condition nests deeper than " +
                              std::to_string(max_condition_nesting) + " levels");
  }

  // or := and ("or" and)*
  ExprResult parse_or() {
    auto first = parse_and();
    if (!first || !at_word("or")) return first;
    Expr expr{first->at, Or{}};
    auto& alternatives = std::get<Or>(expr.node).operands;
    alternatives.push_back(std::move(*first));
    while (at_word("or")) {
      take();
      auto next = parse_and();
      if (!next) return next;
      alternatives.push_back(std::move(*next));
    }
    return expr;
  }

  // and := unary ("and" unary)*
  ExprResult parse_and() {
    auto first = parse_unary();
    if (!first || !at_word("and")) return first;
    Expr expr{first->at, And{}};
    auto& conjuncts = std::get<And>(expr.node).operands;
    conjuncts.push_back(std::move(*first));
    while (at_word("and")) {
      take();
      auto next = parse_unary();
      if (!next) return next;
      conjuncts.push_back(std::move(*next));
    }
    return expr;
  }

  // unary := "not" unary | primary
  ExprResult parse_unary() {
    if (!at_word("not")) return parse_primary();
    const Token& not_token = take();
    const NestingGuard guard(depth_);
    if (guard.too_deep()) return too_deep(not_token);
    auto operand = parse_unary();
    if (!operand) return operand;
    return Expr{not_token.at, Not{std::make_unique<Expr>(std::move(*operand))}};
  }

  // What a condition cannot start with, and why.
  ParseError not_a_condition(const Token& token) const {
    const Token* before = position_ > 0 ? &tokens_[position_ - 1] : nullptr;
    if (token.kind == TokenKind::end || token.kind == TokenKind::right_paren) {
      if (before != nullptr && before->kind == TokenKind::word) {
        return fail(token.at, "expected a condition after " + quote(before->text));
      }
      if (before != nullptr && before->kind == TokenKind::left_paren) {
        return fail(token.at, token.kind == TokenKind::end
                                  ? "expected a condition after '('"
                                  : "empty parentheses: expected a condition inside '()'");
      }
      return token.kind == TokenKind::end ? fail(token.at, "expected a condition")
                                          : fail(token.at, "unexpected ')'");
    }
    if (operator_of(token)) return fail(token.at, "expected an operand before " + quote(token.text));
    if (token.kind == TokenKind::symbol) return unknown_operator(token);
    if (token.kind == TokenKind::comma) return fail(token.at, "unexpected ','");
    return fail(token.at, "expected a condition, found " + describe(token));
  }

  // primary := "(" expr ")" | comparison | quantifier | reference
  ExprResult parse_primary() {
    const Token& token = current();
    if (token.kind == TokenKind::left_paren) return parse_group();
    if (token.kind == TokenKind::word) {
      if (token.text == "any" || token.text == "all" || token.text == "count") {
        if (peek_next().kind != TokenKind::left_paren) {
          return fail(peek_next().at, "expected '(' after " + quote(token.text) + ", e.g. " +
                                          std::string(token.text) +
                                          "(findings, _.score > 0.5)");
        }
        return token.text == "count" ? parse_count() : parse_quantifier();
      }
      if (token.text == "and" || token.text == "or" || token.text == "exists" ||
          operator_of(token)) {
        return not_a_condition(token);
      }
    }
    if (token.kind != TokenKind::word && token.kind != TokenKind::string &&
        token.kind != TokenKind::number && token.kind != TokenKind::duration) {
      return not_a_condition(token);
    }
    auto left = parse_scalar_operand();
    if (!left) return left.error();
    return parse_after_operand(std::move(*left));
  }

  // "(" expr ")"
  ExprResult parse_group() {
    const Token& open = take();
    const NestingGuard guard(depth_);
    if (guard.too_deep()) return too_deep(open);
    auto inner = parse_or();
    if (!inner) return inner;
    if (auto closed = expect_close(open, "")) return *closed;
    inner->at = open.at;  // the group starts at its parenthesis
    return inner;
  }

  // The ')' matching `open`, or why it is missing.
  std::optional<ParseError> expect_close(const Token& open, std::string_view construct) {
    const Token& token = current();
    if (token.kind == TokenKind::right_paren) {
      take();
      return std::nullopt;
    }
    if (token.kind == TokenKind::end) {
      return fail(token.at, "unclosed '(' opened at " + to_string(open.at));
    }
    if (token.kind == TokenKind::comma && construct.empty()) {
      return fail(token.at, "unexpected ','; a list of values goes on the right of an "
                            "operator, e.g. x in (a, b)");
    }
    return fail(token.at, "expected ')' to close " +
                              (construct.empty() ? std::string("'(' opened at ") + to_string(open.at)
                                                 : std::string(construct)) +
                              ", found " + describe(token) + keyword_case_hint(token));
  }

  // After the left operand: an operator, `exists`, or nothing (a reference).
  ExprResult parse_after_operand(Operand left) {
    const Token& token = current();
    const SourcePosition at = left.at;
    if (const auto op = operator_of(token)) {
      take();
      auto right = parse_right_operand(token);
      if (!right) return right.error();
      return Expr{at, Comparison{std::move(left), *op, token.at, std::move(*right)}};
    }
    if (at_word("exists")) {
      take();
      return Expr{at, Exists{std::move(left)}};
    }
    if (token.kind == TokenKind::symbol) return unknown_operator(token);
    if (at_word("not") && operator_of(peek_next())) {
      return fail(token.at, quote("not " + std::string(peek_next().text)) +
                                " is not an operator; write not (" + to_string(left) + " " +
                                std::string(peek_next().text) + " ...)");
    }
    const bool is_name = std::holds_alternative<Name>(left.value) ||
                         std::holds_alternative<Element>(left.value);
    const bool value_follows = token.kind == TokenKind::string ||
                               token.kind == TokenKind::number ||
                               token.kind == TokenKind::duration ||
                               (token.kind == TokenKind::word && !is_keyword(token.text));
    if (value_follows) {
      return fail(token.at, "expected an operator between " + quote(to_string(left)) + " and " +
                                describe(token) + keyword_case_hint(token));
    }
    if (!is_name) {
      return fail(token.at, "expected an operator after " + quote(to_string(left)) +
                                ": a value alone is not a condition");
    }
    return Expr{at, Reference{std::move(left)}};
  }

  // After an operator, '(' starts a list of values.
  OperandResult parse_right_operand(const Token& op) {
    const Token& token = current();
    const bool symbolic = op.kind == TokenKind::symbol;
    const auto missing = [&] {
      return symbolic ? fail(token.at, quote(op.text) + " needs a value on its right")
                      : fail(token.at, "expected an operand after " + quote(op.text));
    };
    if (token.kind == TokenKind::left_paren) return parse_list();
    if (token.kind == TokenKind::end || token.kind == TokenKind::right_paren ||
        token.kind == TokenKind::comma) {
      return missing();
    }
    if (token.kind == TokenKind::symbol || operator_of(token)) {
      return operator_of(token) ? missing() : unknown_operator(token);
    }
    if (token.kind == TokenKind::word && is_keyword(token.text) && token.text != "true" &&
        token.text != "false") {
      return missing();
    }
    return parse_scalar_operand();
  }

  // "(" value ("," value)* ")"
  OperandResult parse_list() {
    const Token& open = take();
    ListLiteral list;
    if (current().kind == TokenKind::right_paren) {
      return fail(current().at, "a list needs at least one value, e.g. (a, b)");
    }
    while (true) {
      const Token& token = current();
      if (token.kind == TokenKind::end) {
        return fail(token.at, "unclosed '(' opened at " + to_string(open.at));
      }
      if (token.kind == TokenKind::left_paren) {
        return fail(token.at, "a list cannot hold another list or a condition");
      }
      if (token.kind != TokenKind::word && token.kind != TokenKind::string &&
          token.kind != TokenKind::number && token.kind != TokenKind::duration) {
        return fail(token.at, "expected a value in the list, found " + describe(token));
      }
      auto value = parse_scalar_operand();
      if (!value) return value;
      auto item = to_list_item(std::move(*value));
      if (!item) return item.error();
      list.items.push_back(std::move(*item));
      const Token& separator = current();
      if (separator.kind == TokenKind::right_paren) {
        take();
        return Operand{open.at, std::move(list)};
      }
      if (separator.kind == TokenKind::end) {
        return fail(separator.at, "unclosed '(' opened at " + to_string(open.at));
      }
      if (separator.kind != TokenKind::comma) {
        return fail(separator.at, "expected ',' or ')' in the list");
      }
      take();
    }
  }

  static boost::system::result<ListItem, ParseError> to_list_item(Operand operand) {
    return std::visit(
        [&](auto&& value) -> boost::system::result<ListItem, ParseError> {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, Element> || std::is_same_v<T, ListLiteral>) {
            return fail(operand.at, "'_' cannot be a value in a list");
          } else {
            return ListItem{operand.at, std::move(value)};
          }
        },
        std::move(operand.value));
  }

  // A single operand: bare word, `_`/`_.member`, string, number, duration, boolean.
  OperandResult parse_scalar_operand() {
    const Token& token = current();
    switch (token.kind) {
      case TokenKind::string:
        take();
        return Operand{token.at, StringLiteral{token.value}};
      case TokenKind::number:
        take();
        return Operand{token.at, NumberLiteral{token.number}};
      case TokenKind::duration:
        take();
        return Operand{token.at, DurationLiteral{token.duration}};
      case TokenKind::word:
        break;
      default:
        return fail(token.at, "expected an operand, found " + describe(token));
    }
    if (token.text == "true" || token.text == "false") {
      take();
      return Operand{token.at, BooleanLiteral{token.text == "true"}};
    }
    if (is_keyword(token.text)) {
      return fail(token.at, quote(token.text) + " is a keyword; quote it to use it as a value");
    }
    if (token.text == "_" || token.text.starts_with("_.")) {
      const std::string_view member = token.text.substr(token.text == "_" ? 1 : 2);
      if (token.text != "_" && (member.empty() || member.starts_with('.') || member.ends_with('.'))) {
        return fail(token.at, "expected a member name after '_.', e.g. _.score");
      }
      take();
      return Operand{token.at, Element{std::string(member)}};
    }
    if (token.text.starts_with('.') || token.text.ends_with('.') ||
        token.text.find("..") != std::string_view::npos) {
      return fail(token.at, "misplaced '.' in " + quote(token.text));
    }
    take();
    return Operand{token.at, Name{std::string(token.text)}};
  }

  // The collection of any/all/count: a field or `_.member`.
  OperandResult parse_collection(const Token& keyword) {
    const Token& token = current();
    if (token.kind != TokenKind::word || is_keyword(token.text)) {
      return fail(token.at, "expected a collection after '" + std::string(keyword.text) +
                                "(', e.g. " + std::string(keyword.text) + "(findings, ...)");
    }
    return parse_scalar_operand();
  }

  // ("any" | "all") "(" collection "," expr ")"
  ExprResult parse_quantifier() {
    const Token& keyword = take();
    const Token& open = take();
    const NestingGuard guard(depth_);
    if (guard.too_deep()) return too_deep(keyword);
    const std::string name(keyword.text);
    auto collection = parse_collection(keyword);
    if (!collection) return collection.error();
    if (current().kind != TokenKind::comma) {
      return fail(current().at, "expected ',' and a condition after the collection, e.g. " +
                                    name + "(" + to_string(*collection) + ", _.score > 0.5)");
    }
    take();
    auto body = parse_or();
    if (!body) return body;
    if (auto closed = expect_close(open, name + "(...)")) return *closed;
    return Expr{keyword.at,
                Quantifier{name == "any" ? QuantifierKind::any : QuantifierKind::all,
                           std::move(*collection), std::make_unique<Expr>(std::move(*body))}};
  }

  // "count" "(" collection ["," expr] ")" CMP number
  ExprResult parse_count() {
    const Token& keyword = take();
    const Token& open = take();
    const NestingGuard guard(depth_);
    if (guard.too_deep()) return too_deep(keyword);
    auto collection = parse_collection(keyword);
    if (!collection) return collection.error();
    std::unique_ptr<Expr> body;
    if (current().kind == TokenKind::comma) {
      take();
      auto parsed = parse_or();
      if (!parsed) return parsed;
      body = std::make_unique<Expr>(std::move(*parsed));
    }
    if (auto closed = expect_close(open, "count(...)")) return *closed;
    const Token& op_token = current();
    const auto op = operator_of(op_token);
    const bool is_comparison = op && op_token.kind == TokenKind::symbol;
    if (!is_comparison || peek_next().kind != TokenKind::number) {
      const Token& at = is_comparison ? peek_next() : op_token;
      return fail(at.at, "count(...) must be compared with a number, e.g. count(findings) > 2");
    }
    take();
    const Token& threshold = take();
    return Expr{keyword.at, Count{std::move(*collection), std::move(body), *op, op_token.at,
                                  NumberLiteral{threshold.number}}};
  }

  std::vector<Token> tokens_;
  std::size_t position_ = 0;
  std::size_t depth_ = 0;
};

}  // namespace

boost::system::result<Expr, ParseError> parse_condition(std::string_view text) {
  auto tokens = lex_condition(text);
  if (!tokens) return tokens.error();
  return Parser(std::move(*tokens)).run();
}

}  // namespace qtriage::rules

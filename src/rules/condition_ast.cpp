#include "qtriage/rules/condition_ast.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace qtriage::rules {

const char* to_string(ComparisonOperator op) {
  switch (op) {
    case ComparisonOperator::equal: return "=";
    case ComparisonOperator::not_equal: return "!=";
    case ComparisonOperator::less: return "<";
    case ComparisonOperator::less_or_equal: return "<=";
    case ComparisonOperator::greater: return ">";
    case ComparisonOperator::greater_or_equal: return ">=";
    case ComparisonOperator::in: return "in";
    case ComparisonOperator::contains: return "contains";
    case ComparisonOperator::icontains: return "icontains";
    case ComparisonOperator::startswith: return "startswith";
    case ComparisonOperator::endswith: return "endswith";
    case ComparisonOperator::matches: return "matches";
    case ComparisonOperator::intersects: return "intersects";
    case ComparisonOperator::in_cidr: return "in_cidr";
  }
  return "?";
}

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Shortest text that reads back as the same double: 2, 0.8, 1.5. Never in
// scientific notation (100000, not 1e+05), which conditions cannot hold.
std::string number_text(double value) {
  std::array<char, 400> buffer{};  // the longest fixed double is about 330 characters
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                    std::chars_format::fixed);
  return std::string(buffer.data(), result.ptr);
}

// In the largest unit that divides it: 7d, 90m, 45s.
std::string duration_text(std::chrono::seconds value) {
  const auto seconds = value.count();
  constexpr std::array<std::pair<long long, char>, 3> units{{{86400, 'd'}, {3600, 'h'}, {60, 'm'}}};
  for (const auto& [size, suffix] : units) {
    if (seconds != 0 && seconds % size == 0) return std::to_string(seconds / size) + suffix;
  }
  return std::to_string(seconds) + "s";
}

const auto scalar_text = Overloaded{
    [](const Name& name) { return name.text; },
    [](const Element& element) {
      return element.member.empty() ? std::string("_") : "_." + element.member;
    },
    [](const StringLiteral& string) { return quoted(string.value); },
    [](const NumberLiteral& number) { return number_text(number.value); },
    [](const DurationLiteral& duration) { return duration_text(duration.value); },
    [](const BooleanLiteral& boolean) { return std::string(boolean.value ? "true" : "false"); },
};

std::string joined(const std::vector<Expr>& operands, const char* separator) {
  std::string out = "(";
  for (std::size_t i = 0; i < operands.size(); ++i) {
    if (i > 0) out += separator;
    out += to_string(operands[i]);
  }
  return out + ")";
}

}  // namespace

std::string to_string(const Operand& operand) {
  return std::visit(Overloaded{
                        [](const ListLiteral& list) {
                          std::string out = "(";
                          for (std::size_t i = 0; i < list.items.size(); ++i) {
                            if (i > 0) out += ", ";
                            out += std::visit(scalar_text, list.items[i].value);
                          }
                          return out + ")";
                        },
                        [](const auto& scalar) { return scalar_text(scalar); },
                    },
                    operand.value);
}

std::string to_string(const Expr& expr) {
  return std::visit(
      Overloaded{
          [](const Or& node) { return joined(node.operands, " or "); },
          [](const And& node) { return joined(node.operands, " and "); },
          [](const Not& node) { return "(not " + to_string(*node.operand) + ")"; },
          [](const Comparison& node) {
            return "(" + to_string(node.left) + " " + to_string(node.op) + " " +
                   to_string(node.right) + ")";
          },
          [](const Exists& node) { return "(" + to_string(node.subject) + " exists)"; },
          [](const Reference& node) { return to_string(node.target); },
          [](const Quantifier& node) {
            return std::string(node.kind == QuantifierKind::any ? "any(" : "all(") +
                   to_string(node.collection) + ", " + to_string(*node.body) + ")";
          },
          [](const Count& node) {
            std::string out = "(count(" + to_string(node.collection);
            if (node.body) out += ", " + to_string(*node.body);
            return out + ") " + to_string(node.op) + " " + number_text(node.threshold.value) +
                   ")";
          },
      },
      expr.node);
}

}  // namespace qtriage::rules

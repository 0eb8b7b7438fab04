// libFuzzer target: the bytes are a rule condition for parse_condition.
//
// Invariant checked on every input that parses (the promise of
// condition_ast.hpp, "Parsing it again gives the same tree"): the canonical
// text `to_string(expr)` parses again, to a tree of the same shape and the
// same operand kinds and values (compared through a typed dump, since Expr
// has no operator==), and so to the same canonical text. A violation is a
// bug in qtriage and aborts.

#include "qtriage/rules/condition_ast.hpp"
#include "qtriage/rules/condition_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace {

using namespace qtriage::rules;

// A double exactly, as a hexadecimal float.
std::string exact(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%a", value);
  return buffer;
}

// Every node and operand with its kind: "Num(0.8)" and "Name(0.8)" differ.
std::string typed(const Expr& expr);

template <class Value>
std::string typed_value(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Name>) return "Name(" + v.text + ")";
        else if constexpr (std::is_same_v<T, Element>) return "Elem(" + v.member + ")";
        else if constexpr (std::is_same_v<T, StringLiteral>) return "Str(" + v.value + ")";
        else if constexpr (std::is_same_v<T, NumberLiteral>) return "Num(" + exact(v.value) + ")";
        else if constexpr (std::is_same_v<T, DurationLiteral>) return "Dur(" + std::to_string(v.value.count()) + ")";
        else if constexpr (std::is_same_v<T, BooleanLiteral>) return v.value ? "Bool(1)" : "Bool(0)";
        else if constexpr (std::is_same_v<T, ListLiteral>) {
          std::string out = "List(";
          for (const ListItem& item : v.items) out += typed_value(item.value) + ",";
          return out + ")";
        }
      },
      value);
}

std::string typed(const Operand& operand) { return typed_value(operand.value); }

std::string typed(const Expr& expr) {
  return std::visit(
      [](const auto& node) -> std::string {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, Or> || std::is_same_v<T, And>) {
          std::string out = std::is_same_v<T, Or> ? "Or[" : "And[";
          for (const Expr& operand : node.operands) out += typed(operand) + ";";
          return out + "]";
        } else if constexpr (std::is_same_v<T, Not>) {
          return "Not[" + typed(*node.operand) + "]";
        } else if constexpr (std::is_same_v<T, Comparison>) {
          return "Cmp[" + typed(node.left) + " " + to_string(node.op) + " " + typed(node.right) + "]";
        } else if constexpr (std::is_same_v<T, Exists>) {
          return "Exists[" + typed(node.subject) + "]";
        } else if constexpr (std::is_same_v<T, Reference>) {
          return "Ref[" + typed(node.target) + "]";
        } else if constexpr (std::is_same_v<T, Quantifier>) {
          return std::string(node.kind == QuantifierKind::any ? "Any[" : "All[") +
                 typed(node.collection) + "; " + typed(*node.body) + "]";
        } else if constexpr (std::is_same_v<T, Count>) {
          return "Count[" + typed(node.collection) + "; " + (node.body ? typed(*node.body) : "-") +
                 "] " + to_string(node.op) + " " + exact(node.threshold.value);
        }
      },
      expr.node);
}

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& first,
                       const std::string& second) {
  std::fprintf(stderr,
               "fuzz_condition_parser: %s\n  input:  %.*s\n  first:  %s\n  second: %s\n", what,
               static_cast<int>(input.size()), input.data(), first.c_str(), second.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto parsed = parse_condition(text);
  if (!parsed) {
    // Errors must render too (position and message).
    const std::string message = to_string(parsed.error());
    (void)message;
    return 0;
  }

  const std::string canonical = to_string(*parsed);
  auto reparsed = parse_condition(canonical);
  if (!reparsed) {
    fail("to_string(expr) does not parse again", text, canonical, to_string(reparsed.error()));
  }
  const std::string again = to_string(*reparsed);
  if (again != canonical) {
    fail("to_string is not stable under re-parsing", text, canonical, again);
  }
  const std::string tree = typed(*parsed);
  const std::string tree_again = typed(*reparsed);
  if (tree != tree_again) {
    fail("to_string(expr) parses again to a different tree", text, tree, tree_again);
  }
  return 0;
}

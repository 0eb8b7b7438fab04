#pragma once
// The syntax tree of a condition, as written: names are not resolved yet (a
// bare word may be a field, a list, a macro or an enum value; later stages
// decide). Every node carries where it starts in the condition text.
//
// Walk it with std::visit on `Expr::node` and `Operand::value`.

#include "qtriage/rules/source_position.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace qtriage::rules {

// ---- operands ----------------------------------------------------------------

struct Name {            // a bare word: field, list name or enum value
  std::string text;
  bool operator==(const Name&) const = default;
};
struct Element {         // `_` (member empty) or `_.member` inside any/all/count
  std::string member;
  bool operator==(const Element&) const = default;
};
struct StringLiteral {   // quoted: taken as written
  std::string value;
  bool operator==(const StringLiteral&) const = default;
};
struct NumberLiteral {
  double value = 0;
  bool operator==(const NumberLiteral&) const = default;
};
struct DurationLiteral {
  std::chrono::seconds value{0};
  bool operator==(const DurationLiteral&) const = default;
};
struct BooleanLiteral {
  bool value = false;
  bool operator==(const BooleanLiteral&) const = default;
};

// One value of a list literal; lists hold no `_` and no nested lists.
struct ListItem {
  SourcePosition at;
  std::variant<Name, StringLiteral, NumberLiteral, DurationLiteral, BooleanLiteral> value;
};
struct ListLiteral {     // `(a, "b c", 3)` on the right of an operator
  std::vector<ListItem> items;
};

struct Operand {
  SourcePosition at;
  std::variant<Name, Element, StringLiteral, NumberLiteral, DurationLiteral, BooleanLiteral,
               ListLiteral>
      value;
};

// ---- expressions -------------------------------------------------------------

struct Expr;

enum class ComparisonOperator {
  equal, not_equal, less, less_or_equal, greater, greater_or_equal,
  in, contains, icontains, startswith, endswith, matches, intersects, in_cidr,
};

// The operator as written in a condition, e.g. "!=" or "in_cidr".
const char* to_string(ComparisonOperator op);

struct Or {              // two or more alternatives, in source order
  std::vector<Expr> operands;
};
struct And {             // two or more conjuncts, in source order
  std::vector<Expr> operands;
};
struct Not {
  std::unique_ptr<Expr> operand;  // never null
};
struct Comparison {
  Operand left;
  ComparisonOperator op = ComparisonOperator::equal;
  SourcePosition op_at;
  Operand right;
};
struct Exists {
  Operand subject;
};
// A bare name standing alone: a macro or a boolean field (`quarantined`,
// `_.encrypted`); which one is decided when names are resolved.
struct Reference {
  Operand target;  // holds a Name or an Element
};

enum class QuantifierKind { any, all };
struct Quantifier {      // any(collection, body) / all(collection, body)
  QuantifierKind kind = QuantifierKind::any;
  Operand collection;
  std::unique_ptr<Expr> body;  // never null
};
struct Count {           // count(collection[, body]) CMP threshold
  Operand collection;
  std::unique_ptr<Expr> body;  // null: count every element
  ComparisonOperator op = ComparisonOperator::equal;  // one of = != < <= > >=
  SourcePosition op_at;
  NumberLiteral threshold;
};

struct Expr {
  SourcePosition at;
  std::variant<Or, And, Not, Comparison, Exists, Reference, Quantifier, Count> node;
};

// Canonical, fully parenthesised text of a condition, e.g.
// "((spf = pass) and (not quarantined))". Parsing it again gives the same tree.
std::string to_string(const Expr& expr);
std::string to_string(const Operand& operand);

}  // namespace qtriage::rules

#pragma once
// Compiled conditions: a tree of small nodes whose names and types were
// checked by the compiler, with field getters resolved and literals, lists,
// regular expressions and CIDRs prepared. Evaluation allocates nothing.
// Internal to src/rules.

#include "field_catalogue.hpp"
#include "text_set.hpp"
#include "qtriage/rules/condition_ast.hpp"

#include <re2/re2.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace qtriage::rules {

class ConditionNode {
 public:
  virtual ~ConditionNode() = default;
  virtual bool evaluate(EvaluationContext& context) const = 0;
  // A rough relative cost of evaluate(), so a rule can try its cheap
  // clauses first: a flag read is 1, a regular expression 30.
  virtual unsigned cost() const { return 1; }
};

using NodePtr = std::shared_ptr<const ConditionNode>;

namespace nodes {

using catalogue::BoolGetter;
using catalogue::NumberGetter;
using catalogue::RangeGetter;
using catalogue::TextGetter;

struct Cidr {
  bool v6 = false;
  std::array<unsigned char, 16> address{};
  unsigned prefix = 0;
  bool operator==(const Cidr&) const = default;
};
// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
std::optional<Cidr> parse_cidr(std::string_view text);

NodePtr all_of(std::vector<NodePtr> operands);
NodePtr any_of(std::vector<NodePtr> operands);
NodePtr negation(NodePtr operand);
// A boolean field (or member) alone, or compared with a literal.
NodePtr boolean_is(BoolGetter field, bool expected, bool negate);
NodePtr boolean_fields(BoolGetter left, BoolGetter right, bool negate);
NodePtr number_compare(NumberGetter field, ComparisonOperator op, double value);
NodePtr number_fields(NumberGetter left, ComparisonOperator op, NumberGetter right);
NodePtr number_in(NumberGetter field, std::vector<double> values);
NodePtr text_equals(TextGetter field, std::string value, bool case_insensitive, bool negate);
NodePtr text_fields(TextGetter left, TextGetter right, bool case_insensitive, bool negate);
NodePtr text_in(TextGetter field, std::shared_ptr<const TextSet> set);
// contains, icontains, startswith, endswith.
NodePtr text_affix(TextGetter field, ComparisonOperator op, std::string value,
                   bool case_insensitive);
NodePtr text_matches(TextGetter field, std::shared_ptr<const RE2> pattern);
NodePtr text_in_cidr(TextGetter field, std::vector<Cidr> networks);
NodePtr exists(catalogue::Getter field);
NodePtr quantifier(QuantifierKind kind, RangeGetter collection, NodePtr body);
// count(collection[, body]) op threshold; body may be null.
NodePtr count(RangeGetter collection, NodePtr body, ComparisonOperator op, double threshold);

}  // namespace nodes
}  // namespace qtriage::rules

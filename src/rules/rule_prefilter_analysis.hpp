#pragma once
// Reads a RulePrefilter off a rule's top-level clauses (and the top-level
// clauses of the macros they name). Internal to src/rules.

#include "qtriage/rules/condition_ast.hpp"
#include "qtriage/rules/rule_prefilter.hpp"

#include <functional>
#include <string_view>
#include <vector>

namespace qtriage::rules {

// The parsed parts of a macro that compiled, or null (unknown or broken).
using MacroParts = std::function<const std::vector<Expr>*(std::string_view name)>;
// The items of a list, or null.
using ListItems = std::function<const std::vector<std::string>*(std::string_view name)>;

// Narrows `filter` by every top-level conjunct of `condition`.
void narrow_prefilter(const Expr& condition, const MacroParts& macros, const ListItems& lists,
                      RulePrefilter& filter);

// True when every message `rule` admits satisfies `clause` (e.g. the clause
// `disposition = SPAM` of a rule filed under SPAM only): the evaluator need
// not try it.
bool settled_by_prefilter(const Expr& clause, const MacroParts& macros, const ListItems& lists,
                          const RulePrefilter& rule);

}  // namespace qtriage::rules

#pragma once
// How `qtriage explain`, `qtriage test` and the audit log show why a message
// was decided the way it was.

#include "qtriage/rules/rule_set.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace qtriage::rules {

// For a terminal: each rule in order with its clauses true/false/missing,
// the exceptions of a matching rule, and the decision.
std::string explanation_to_text(const Explanation& explanation);

// The same for tools: {"rules": [...], "decision": {...}}.
boost::json::value explanation_to_json(const Explanation& explanation);

// {"verdict", "rule", "action", "skip_reason", "vetoes"}.
boost::json::value decision_to_json(const Decision& decision, const RuleSet& rules);

}  // namespace qtriage::rules

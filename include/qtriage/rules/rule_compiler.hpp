#pragma once
// The third stage of loading rules: parse every condition of a collected set,
// resolve names (fields, macros, lists, `_`), check operators against the
// field types, expand macros, prepare lists, regular expressions and CIDRs,
// and build the RuleSet the evaluator runs. Every error of every item is
// reported with its file position; a set with errors is not built.

#include "qtriage/rules/rule_collector.hpp"
#include "qtriage/rules/rule_set.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qtriage::rules {

struct CompileOptions {
  // The text of each file by name, to map a position inside a folded (`>`)
  // condition back to its exact line and column. Without it, positions after
  // the first line of a folded condition point at its first line.
  const std::map<std::string, std::string, std::less<>>* file_texts = nullptr;
  std::string version;  // passed on to RuleSet::version()
};

struct CompileOutput {
  std::shared_ptr<const RuleSet> rule_set;  // null when `errors` is not empty
  std::vector<RuleFileError> errors;
  // Loads anyway: e.g. a quoted value that is not a known enum value.
  std::vector<RuleFileError> warnings;
};

// Refuses a set whose collector reported errors (they are passed on).
CompileOutput compile_rules(const CollectedRuleSet& collected, const CompileOptions& options = {});

}  // namespace qtriage::rules

#pragma once
// The second stage of loading rules (the shape of Falco's rule_loader
// collector): merge the files of a rule set, in load order, into one set of
// lists, macros and rules by name, applying `override: replace` and
// `override: append`, and report every redefinition or override mistake.
// Conditions are still text here; the compiler parses and checks them.

#include "qtriage/rules/rule_definitions.hpp"
#include "qtriage/rules/rule_file_reader.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules {

// Where a collected item was defined or overridden, so errors and
// `qtriage explain` can name every file that shaped it.
struct DefinitionSite {
  std::string file;
  FilePosition at;  // the item
  OverrideKind override_kind = OverrideKind::none;
  bool operator==(const DefinitionSite&) const = default;
};

// A list item with the file it came from (appends come from other files).
struct CollectedListItem {
  std::string file;
  Located<std::string> value;
  bool operator==(const CollectedListItem&) const = default;
};

// One condition of a macro or rule as written in one file. The effective
// condition is `(part 1) and (part 2) and ...`; the compiler parses each part
// on its own, so a position inside any part maps back to its own file.
struct ConditionPart {
  std::string file;
  ConditionText text;
  bool operator==(const ConditionPart&) const = default;
};

struct CollectedException {
  std::string file;
  ExceptionDefinition definition;
};

struct CollectedList {
  std::string name;
  // Appended items follow the earlier ones in order; duplicates are kept
  // (membership is the same, and each keeps its own position for explain).
  std::vector<CollectedListItem> items;
  std::vector<DefinitionSite> sites;  // front: the definition; then every override
};

struct CollectedMacro {
  std::string name;
  std::vector<ConditionPart> condition_parts;  // and-ed together, never empty
  std::vector<DefinitionSite> sites;
};

struct CollectedRule {
  // The first definition or the last `override: replace`: desc, action,
  // enabled, mode, tags and limits come from it. Its `condition` and
  // `exceptions` are moved out into the two fields below.
  RuleDefinition definition;
  std::vector<ConditionPart> condition_parts;  // and-ed together
  std::vector<CollectedException> exceptions;  // any match vetoes the rule
  std::vector<DefinitionSite> sites;
  const std::string& name() const { return definition.name.value; }
};

struct CollectedRuleSet {
  // Lists, macros and rules are separate namespaces.
  std::map<std::string, CollectedList, std::less<>> lists;
  std::map<std::string, CollectedMacro, std::less<>> macros;
  // In order of first definition (file order, then position). A rule that is
  // replaced keeps its original place: overriding changes what a rule does,
  // not when it runs relative to the rules around it (Falco does the same).
  std::vector<CollectedRule> rules;
  // Every reader error of every file, then (per file, in order) the
  // collector's own; the rule set loads only if this is empty.
  std::vector<RuleFileError> errors;

  const CollectedRule* find_rule(std::string_view name) const;
};

// `files` in load order (the caller sorts a folder's files by name). Never
// throws for bad input. A definition with an error is left out of the set;
// definitions the reader dropped count as undefined, so an override of one
// is reported too.
CollectedRuleSet collect_rules(const std::vector<RuleFile>& files);

}  // namespace qtriage::rules

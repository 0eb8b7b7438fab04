#pragma once
// Loads a rule set from its files, all stages in a row (read, collect,
// compile), whole or not at all, and keeps the live set across reloads: a
// reload that fails leaves the set that was running.

#include "qtriage/rules/rule_compiler.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace qtriage::rules {

struct LoadedRules {
  std::shared_ptr<const RuleSet> rule_set;  // null when anything failed
  std::vector<RuleFileError> errors;
  std::vector<RuleFileError> warnings;
  // Every file read, by the name used in errors, for snippets.
  std::map<std::string, std::string, std::less<>> file_texts;

  bool ok() const { return rule_set != nullptr; }
  // Each error as "file:line:col: In rule 'x': message" with the source line
  // and a caret under the column.
  std::vector<std::string> formatted_errors() const;
  std::vector<std::string> formatted_warnings() const;
};

// `files` in load order (a config's folders already expanded and sorted).
// The version is a digest of every file's name and content.
LoadedRules load_rule_files(const std::vector<std::filesystem::path>& files);

// The same from texts in memory: {name, YAML text} in load order.
LoadedRules load_rule_texts(const std::vector<std::pair<std::string, std::string>>& files);

// The rule set the daemon decides with. Readers take a snapshot
// (a shared_ptr), so a reload never changes a set under a decision.
class LiveRuleSet {
 public:
  std::shared_ptr<const RuleSet> current() const;
  // Installs `loaded` if it loaded; otherwise keeps the current set. True
  // when installed.
  bool replace(const LoadedRules& loaded);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const RuleSet> current_;
};

}  // namespace qtriage::rules

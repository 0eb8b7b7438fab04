#pragma once
// What `check`, `test` and `explain` share: load the config named by -c and
// the rules it names, and print every error in one located line (plus the
// source line and a caret) on stderr.

#include "qtriage/config/config.hpp"
#include "qtriage/rules/rule_loader.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qtriage::tools {

struct ConfiguredRules {
  std::optional<config::Config> config;  // absent when -c named a rules file itself
  rules::LoadedRules rules;
  std::vector<std::filesystem::path> rule_files;
  std::size_t error_count = 0;  // config and rules
  bool ok() const { return error_count == 0 && rules.ok(); }
};

// Loads `config_path` and its rules, printing errors and warnings to stderr
// prefixed with `command` ("qtriage check"). A -c file that is a YAML list is
// read as a rules file (so `qtriage check -c rules.yaml` checks just it).
ConfiguredRules load_configured_rules(const std::filesystem::path& config_path,
                                      const std::string& command);

// Expands files and folders (a folder: its *.yaml/*.yml, sorted, not
// recursive). Missing paths are reported and counted in `errors`.
std::vector<std::filesystem::path> expand_paths(const std::vector<std::string>& paths,
                                                const std::string& command, std::size_t& errors);

}  // namespace qtriage::tools

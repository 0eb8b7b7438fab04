#pragma once
// The first stage of loading rules (the shape of Falco's rule loader): read one
// YAML file into definitions with their positions, and report every mistake
// found in it, not only the first. Overrides across files are the collector's
// job; conditions and actions are parsed by the compiler.

#include "qtriage/rules/rule_definitions.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules {

struct RuleFileError {
  std::string file;
  FilePosition at;
  std::string context;  // "In rule 'x'", "In item 3", or empty at file level
  std::string message;
  bool operator==(const RuleFileError&) const = default;
};

// "file:line:col: In rule 'x': message"
std::string to_string(const RuleFileError& error);

// to_string plus the source line and a caret under the column.
std::string format_error(const RuleFileError& error, std::string_view file_text);

struct RuleFile {
  std::string file;
  std::vector<Definition> definitions;  // well-formed items, in file order
  std::vector<RuleFileError> errors;    // in file order; the file loads only if empty
};

// Never throws for bad input: every YAML or shape error becomes an entry of
// `errors`. An item with errors is not added to `definitions`.
RuleFile read_rule_file(std::string_view file_name, std::string_view yaml_text);

}  // namespace qtriage::rules

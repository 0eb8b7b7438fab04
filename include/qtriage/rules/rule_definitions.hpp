#pragma once
// What one rules file defines, as written: lists, macros and rules with the
// place of every value, so later stages (collect, compile) can point at the
// exact spot of a mistake. Nothing here is resolved or checked across files.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace qtriage::rules {

// A place in a rules file; both 1-based, the column in bytes.
struct FilePosition {
  std::size_t line = 1;
  std::size_t column = 1;
  bool operator==(const FilePosition&) const = default;
};

template <typename T>
struct Located {
  T value{};
  FilePosition at;
  bool operator==(const Located&) const = default;
};

// The text of a condition and where that text starts in the file, so a
// SourcePosition inside the condition can be turned into a file position.
// For plain and quoted scalars `text_at` is the first character of the value
// (after the quote). For `>` and `|` block scalars it is the first character
// of the first non-blank content line; a folded (`>`) condition joins lines
// with spaces, so only its first line maps column for column.
struct ConditionText {
  std::string text;
  FilePosition text_at;
  bool operator==(const ConditionText&) const = default;
};

enum class OverrideKind { none, replace, append };
enum class RuleMode { enforce, audit };

struct ListDefinition {
  std::string file;
  FilePosition at;  // the item
  Located<std::string> name;
  std::vector<Located<std::string>> items;
  Located<OverrideKind> override_kind;
};

struct MacroDefinition {
  std::string file;
  FilePosition at;
  Located<std::string> name;
  std::optional<ConditionText> condition;  // absent only after an error
  Located<OverrideKind> override_kind;
};

struct ExceptionDefinition {
  FilePosition at;
  Located<std::string> name;
  ConditionText condition;
};

struct RuleDefinition {
  std::string file;
  FilePosition at;
  Located<std::string> name;
  std::optional<Located<std::string>> desc;
  std::optional<ConditionText> condition;  // absent in an `override: append` of exceptions
  std::vector<ExceptionDefinition> exceptions;
  std::optional<Located<std::string>> action;  // parsed by the compiler
  Located<bool> enabled{true, {}};
  std::optional<Located<RuleMode>> mode;       // absent: the daemon's mode
  std::vector<Located<std::string>> tags;
  Located<OverrideKind> override_kind;
  std::optional<Located<std::uint64_t>> max_per_cycle;
  std::optional<FilePosition> approve_required;  // set when `approve: required`
};

using Definition = std::variant<ListDefinition, MacroDefinition, RuleDefinition>;

}  // namespace qtriage::rules

#include "qtriage/rules/rule_file_reader.hpp"

#include "qtriage/core/source_snippet.hpp"
#include "qtriage/core/suggestion.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <initializer_list>
#include <map>
#include <new>
#include <optional>
#include <utility>

namespace qtriage::rules {

std::string to_string(const RuleFileError& error) {
  std::string text = error.file + ":" + std::to_string(error.at.line) + ":" +
                     std::to_string(error.at.column) + ": ";
  if (!error.context.empty()) text += error.context + ": ";
  return text + error.message;
}

std::string format_error(const RuleFileError& error, std::string_view file_text) {
  std::string text = to_string(error);
  const std::string snippet = source_snippet(file_text, error.at.line, error.at.column);
  if (!snippet.empty()) text += "\n" + snippet;
  return text;
}

namespace {

// " (did you mean 'x'?)" for the closest known word, else "".
std::string suggestion(std::string_view written, std::initializer_list<std::string_view> known) {
  return did_you_mean(written, std::vector<std::string_view>(known));
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// One key of a mapping with its value; the first occurrence of a key wins,
// later ones are reported as duplicates.
struct Entry {
  std::string key;
  FilePosition key_at;
  YAML::Node value;
};

// Where the first byte that is not UTF-8 is (YAML files are UTF-8; yaml-cpp
// would pass such bytes on silently into names and values).
std::optional<FilePosition> invalid_utf8_at(std::string_view text) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (byte < 0x80) length = 1;
    else if (byte >= 0xC2 && byte <= 0xDF) length = 2;
    else if (byte >= 0xE0 && byte <= 0xEF) length = 3;
    else if (byte >= 0xF0 && byte <= 0xF4) length = 4;
    if (length == 0 || i + length > text.size()) return FilePosition{line, column};
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        return FilePosition{line, column};
      }
    }
    // Overlong forms and surrogates.
    const auto second = static_cast<unsigned char>(text[i + (length > 1 ? 1 : 0)]);
    if ((byte == 0xE0 && second < 0xA0) || (byte == 0xED && second > 0x9F) ||
        (byte == 0xF0 && second < 0x90) || (byte == 0xF4 && second > 0x8F)) {
      return FilePosition{line, column};
    }
    if (byte == '\n') {
      ++line;
      column = 1;
    } else {
      column += length;
    }
    i += length;
  }
  return std::nullopt;
}

// Where a second YAML document starts: a `---` line after content, or
// content after a `...` line. Comments and blank lines are not content.
std::optional<FilePosition> second_document_at(std::string_view text) {
  bool content = false;
  bool ended = false;
  std::size_t line = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    ++line;
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view current = text.substr(start, end - start);
    if (!current.empty() && current.back() == '\r') current.remove_suffix(1);
    start = end + 1;
    auto marker = [&current](std::string_view word) {
      return current.substr(0, 3) == word &&
             (current.size() == 3 || current[3] == ' ' || current[3] == '\t');
    };
    const auto first = current.find_first_not_of(" \t");
    const bool blank = first == std::string_view::npos || current[first] == '#';
    if (marker("---")) {
      if (content || ended) return FilePosition{line, 1};
      content = current.find_first_not_of(" \t", 3) != std::string_view::npos &&
                current[current.find_first_not_of(" \t", 3)] != '#';
      continue;
    }
    if (marker("...")) {
      ended = true;
      continue;
    }
    if (!blank) {
      if (ended) return FilePosition{line, first + 1};
      content = true;
    }
    if (end == text.size()) break;
  }
  return std::nullopt;
}

class FileReader {
 public:
  FileReader(std::string_view file_name, std::string_view text)
      : text_(text), result_{std::string(file_name), {}, {}} {}

  RuleFile read() && {
    try {
      // Not YAML::LoadAll: yaml-cpp 0.7's LoadAll can loop for ever on input
      // such as ", a" (jbeder/yaml-cpp#1040); Load reads only the first document.
      if (const auto bad = invalid_utf8_at(text_)) {
        error(*bad, "", "the file is not valid UTF-8 here; save it as UTF-8");
        return std::move(result_);
      }
      if (const auto second = second_document_at(text_)) {
        error(*second, "", "a rules file holds one YAML document; remove the '---' separator");
        return std::move(result_);
      }
      const YAML::Node document = YAML::Load(std::string(text_));
      if (document) read_top_level(document);
    } catch (const YAML::DeepRecursion& exception) {
      // yaml-cpp's own guard (its message is only "bad file").
      error(position_of(exception.mark, {}), "",
            "invalid YAML: nested too deeply; a rules file needs only a few levels");
    } catch (const YAML::Exception& exception) {
      // Syntax errors (and yaml-cpp's refusal of too deep nesting) carry a mark.
      error(position_of(exception.mark, {}), "", "invalid YAML: " + exception.msg);
    } catch (const std::bad_alloc&) {
      error({}, "", "the file is too large to read");
    } catch (const std::exception& exception) {
      error({}, "", std::string("could not read the file: ") + exception.what());
    }
    return std::move(result_);
  }

 private:
  std::string_view text_;
  RuleFile result_;
  std::string context_;  // "In rule 'x'" while reading an item
  bool item_failed_ = false;

  void error(FilePosition at, std::string context, std::string message) {
    result_.errors.push_back({result_.file, at, std::move(context), std::move(message)});
  }
  void item_error(FilePosition at, std::string message) {
    item_failed_ = true;
    error(at, context_, std::move(message));
  }

  static FilePosition position_of(const YAML::Mark& mark, FilePosition fallback) {
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return fallback;
    return {static_cast<std::size_t>(mark.line) + 1, static_cast<std::size_t>(mark.column) + 1};
  }
  static FilePosition position_of(const YAML::Node& node, FilePosition fallback) {
    return position_of(node.Mark(), fallback);
  }

  // yaml-cpp marks an omitted value (`action:`) at the token after it, often
  // the next line; the key is the better place to point at.
  static FilePosition value_position(const Entry& entry) {
    return entry.value.IsNull() ? entry.key_at : position_of(entry.value, entry.key_at);
  }

  // Where the text of a scalar starts: after a quote, or on the first
  // non-blank line after a `>` / `|` header.
  FilePosition text_start(const YAML::Node& node, FilePosition fallback) const {
    const YAML::Mark mark = node.Mark();
    FilePosition at = position_of(mark, fallback);
    if (mark.is_null() || mark.pos < 0) return at;
    auto offset = static_cast<std::size_t>(mark.pos);
    if (offset >= text_.size()) return at;
    const char first = text_[offset];
    if (first == '"' || first == '\'') return {at.line, at.column + 1};
    if (first != '>' && first != '|') return at;
    std::size_t line = at.line;
    auto line_start = text_.find('\n', offset);
    while (line_start != std::string_view::npos) {
      ++line_start;
      ++line;
      auto line_end = text_.find('\n', line_start);
      if (line_end == std::string_view::npos) line_end = text_.size();
      const auto content = text_.find_first_not_of(" \t\r", line_start);
      if (content != std::string_view::npos && content < line_end) {
        return {line, content - line_start + 1};
      }
      line_start = line_end < text_.size() ? line_end : std::string_view::npos;
    }
    return at;
  }

  void read_top_level(const YAML::Node& root) {
    if (root.IsNull()) return;  // an empty file defines nothing
    if (!root.IsSequence()) {
      error(position_of(root, {}), "",
            "the top level of a rules file must be a list of items (\"- rule: ...\"), not " +
                describe(root));
      return;
    }
    std::size_t index = 0;
    for (const auto& item : root) read_item(item, ++index);
  }

  // The keys of a mapping in order; duplicates and non-string keys are errors.
  std::vector<Entry> entries_of(const YAML::Node& mapping, FilePosition fallback) {
    std::vector<Entry> entries;
    for (auto it = mapping.begin(); it != mapping.end(); ++it) {
      const YAML::Node key = it->first;
      const FilePosition key_at = position_of(key, fallback);
      if (!key.IsScalar()) {
        item_error(key_at, "a key must be a word such as 'condition', not " + describe(key));
        continue;
      }
      const auto duplicate = std::find_if(entries.begin(), entries.end(),
                                          [&](const Entry& e) { return e.key == key.Scalar(); });
      if (duplicate != entries.end()) {
        item_error(key_at, "key '" + key.Scalar() + "' is given twice (first at line " +
                               std::to_string(duplicate->key_at.line) + "); keep one");
        continue;
      }
      entries.push_back({key.Scalar(), key_at, it->second});
    }
    return entries;
  }

  void read_item(const YAML::Node& item, std::size_t index) {
    context_ = "In item " + std::to_string(index);
    item_failed_ = false;
    const FilePosition item_at = position_of(item, {});
    if (!item.IsMap()) {
      item_error(item_at, "an item must be a mapping starting with 'list:', 'macro:' or "
                          "'rule:', not " + describe(item));
      return;
    }
    const std::size_t first_error = result_.errors.size();
    const std::vector<Entry> entries = entries_of(item, item_at);
    std::vector<const Entry*> kinds;
    for (const auto& entry : entries) {
      if (entry.key == "list" || entry.key == "macro" || entry.key == "rule") {
        kinds.push_back(&entry);
      }
    }
    if (kinds.empty()) {
      item_error(item_at, "an item must have one of 'list', 'macro' or 'rule'");
      return;
    }
    if (kinds.size() > 1) {
      item_error(kinds[1]->key_at, "an item is one of list, macro or rule, but this one has both '" +
                                       kinds[0]->key + "' and '" + kinds[1]->key + "'");
      return;
    }
    const Entry& kind = *kinds.front();
    const YAML::Node& name_node = kind.value;
    const FilePosition name_at = position_of(name_node, kind.key_at);
    if (!name_node.IsScalar() || name_node.Scalar().empty()) {
      item_error(name_at, "the name of a " + kind.key + " must be a non-empty string, not " +
                              describe(name_node));
      return;
    }
    const Located<std::string> name{name_node.Scalar(), name_at};
    context_ = "In " + kind.key + " '" + name.value + "'";
    // Key errors found before the name was known are about this named item.
    for (std::size_t i = first_error; i < result_.errors.size(); ++i) {
      result_.errors[i].context = context_;
    }
    if (kind.key == "list") {
      read_list(entries, item_at, name);
    } else if (kind.key == "macro") {
      read_macro(entries, item_at, name);
    } else {
      read_rule(entries, item_at, name);
    }
  }

  // ---- values ---------------------------------------------------------------

  std::optional<Located<std::string>> read_string(const Entry& entry, bool must_not_be_empty) {
    const FilePosition at = value_position(entry);
    if (entry.value.IsNull() || (entry.value.IsScalar() && entry.value.Scalar().empty())) {
      if (must_not_be_empty) {
        item_error(at, "'" + entry.key + "' is empty");
        return std::nullopt;
      }
      return Located<std::string>{std::string{}, at};
    }
    if (!entry.value.IsScalar()) {
      item_error(at, "'" + entry.key + "' must be a string, not " + describe(entry.value));
      return std::nullopt;
    }
    return Located<std::string>{entry.value.Scalar(), at};
  }

  std::optional<ConditionText> read_condition(const Entry& entry) {
    const auto text = read_string(entry, true);
    if (!text) return std::nullopt;
    return ConditionText{text->value, text_start(entry.value, text->at)};
  }

  // A scalar that must be one of `allowed`; nullopt after reporting an error.
  std::optional<std::string> read_choice(const Entry& entry,
                                         std::initializer_list<std::string_view> allowed) {
    const FilePosition at = value_position(entry);
    std::string expected;
    for (const auto choice : allowed) {
      if (!expected.empty()) expected += " or ";
      expected += "'" + std::string(choice) + "'";
    }
    if (!entry.value.IsScalar()) {
      item_error(at, "'" + entry.key + "' must be " + expected + ", not " + describe(entry.value));
      return std::nullopt;
    }
    const std::string& value = entry.value.Scalar();
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      item_error(at, "'" + entry.key + "' must be " + expected + ", not '" + value + "'" +
                         suggestion(value, allowed));
      return std::nullopt;
    }
    return value;
  }

  std::optional<Located<OverrideKind>> read_override(const Entry& entry) {
    const auto value = read_choice(entry, {"replace", "append"});
    if (!value) return std::nullopt;
    return Located<OverrideKind>{
        *value == "replace" ? OverrideKind::replace : OverrideKind::append,
        value_position(entry)};
  }

  std::optional<std::vector<Located<std::string>>> read_strings(const Entry& entry) {
    const FilePosition at = value_position(entry);
    if (!entry.value.IsSequence()) {
      item_error(at, "'" + entry.key + "' must be a list of strings, like [a, b], not " +
                         describe(entry.value));
      return std::nullopt;
    }
    std::vector<Located<std::string>> strings;
    bool ok = true;
    for (const auto& element : entry.value) {
      const FilePosition element_at = position_of(element, at);
      if (!element.IsScalar()) {
        item_error(element_at, "'" + entry.key + "' must hold only strings, not " +
                                   describe(element));
        ok = false;
        continue;
      }
      strings.push_back({element.Scalar(), element_at});
    }
    if (!ok) return std::nullopt;
    return strings;
  }

  // Reports keys the item kind does not know, suggesting the closest one.
  void check_keys(const std::vector<Entry>& entries,
                  std::initializer_list<std::string_view> known, std::string_view kind) {
    for (const auto& entry : entries) {
      if (std::find(known.begin(), known.end(), entry.key) != known.end()) continue;
      item_error(entry.key_at, "unknown key '" + entry.key + "' for a " + std::string(kind) +
                                   suggestion(entry.key, known));
    }
  }

  static const Entry* find(const std::vector<Entry>& entries, std::string_view key) {
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) { return e.key == key; });
    return it == entries.end() ? nullptr : &*it;
  }

  // ---- items ----------------------------------------------------------------

  void read_list(const std::vector<Entry>& entries, FilePosition at, Located<std::string> name) {
    check_keys(entries, {"list", "items", "override"}, "list");
    ListDefinition list{result_.file, at, std::move(name), {}, {OverrideKind::none, at}};
    if (const Entry* over = find(entries, "override")) {
      if (auto kind = read_override(*over)) list.override_kind = *kind;
    }
    if (const Entry* items = find(entries, "items")) {
      if (auto strings = read_strings(*items)) list.items = std::move(*strings);
    } else {
      item_error(at, "a list needs 'items'");
    }
    if (!item_failed_) result_.definitions.emplace_back(std::move(list));
  }

  void read_macro(const std::vector<Entry>& entries, FilePosition at, Located<std::string> name) {
    check_keys(entries, {"macro", "condition", "override"}, "macro");
    MacroDefinition macro{result_.file, at, std::move(name), {}, {OverrideKind::none, at}};
    if (const Entry* over = find(entries, "override")) {
      if (auto kind = read_override(*over)) macro.override_kind = *kind;
    }
    if (const Entry* condition = find(entries, "condition")) {
      macro.condition = read_condition(*condition);
    } else {
      item_error(at, "a macro needs 'condition'");
    }
    if (!item_failed_) result_.definitions.emplace_back(std::move(macro));
  }

  std::vector<ExceptionDefinition> read_exceptions(const Entry& entry) {
    std::vector<ExceptionDefinition> exceptions;
    const FilePosition at = value_position(entry);
    if (!entry.value.IsSequence()) {
      item_error(at, "'exceptions' must be a list of mappings with 'name' and 'condition', not " +
                         describe(entry.value));
      return exceptions;
    }
    std::size_t index = 0;
    for (const auto& element : entry.value) {
      ++index;
      const FilePosition element_at = position_of(element, at);
      if (!element.IsMap()) {
        item_error(element_at, "exception " + std::to_string(index) +
                                   " must be a mapping with 'name' and 'condition', not " +
                                   describe(element));
        continue;
      }
      const std::vector<Entry> fields = entries_of(element, element_at);
      check_keys(fields, {"name", "condition"}, "exception");
      ExceptionDefinition exception{element_at, {}, {}};
      bool ok = true;
      if (const Entry* name = find(fields, "name")) {
        if (auto value = read_string(*name, true)) exception.name = *value; else ok = false;
      } else {
        item_error(element_at, "exception " + std::to_string(index) + " needs 'name'");
        ok = false;
      }
      if (const Entry* condition = find(fields, "condition")) {
        if (auto value = read_condition(*condition)) exception.condition = *value; else ok = false;
      } else {
        item_error(element_at, "exception " + std::to_string(index) + " needs 'condition'");
        ok = false;
      }
      if (ok) exceptions.push_back(std::move(exception));
    }
    return exceptions;
  }

  void read_rule(const std::vector<Entry>& entries, FilePosition at, Located<std::string> name) {
    check_keys(entries,
               {"rule", "desc", "condition", "exceptions", "action", "enabled", "mode", "tags",
                "override", "max_per_cycle", "approve"},
               "rule");
    RuleDefinition rule;
    rule.file = result_.file;
    rule.at = at;
    rule.name = std::move(name);
    rule.enabled.at = at;
    rule.override_kind = {OverrideKind::none, at};
    if (const Entry* over = find(entries, "override")) {
      if (auto kind = read_override(*over)) rule.override_kind = *kind;
    }
    const bool appending = rule.override_kind.value == OverrideKind::append;

    for (const auto& entry : entries) {
      const std::string& key = entry.key;
      if (appending && key != "rule" && key != "override" && key != "condition" &&
          key != "exceptions") {
        if (key == "desc" || key == "action" || key == "enabled" || key == "mode" ||
            key == "tags" || key == "max_per_cycle" || key == "approve") {
          item_error(entry.key_at, "'override: append' can only add 'condition' or "
                                   "'exceptions'; use 'override: replace' to change '" + key + "'");
        }
        continue;
      }
      const FilePosition value_at = value_position(entry);
      if (key == "desc") {
        rule.desc = read_string(entry, false);
      } else if (key == "condition") {
        rule.condition = read_condition(entry);
      } else if (key == "exceptions") {
        rule.exceptions = read_exceptions(entry);
      } else if (key == "action") {
        rule.action = read_string(entry, true);
      } else if (key == "enabled") {
        bool enabled = true;
        // Quoted "true" is a string, not a boolean.
        if (entry.value.IsScalar() && entry.value.Tag() != "!" &&
            YAML::convert<bool>::decode(entry.value, enabled)) {
          rule.enabled = {enabled, value_at};
        } else {
          item_error(value_at, "'enabled' must be true or false, not " + describe(entry.value));
        }
      } else if (key == "mode") {
        if (auto mode = read_choice(entry, {"enforce", "audit"})) {
          rule.mode = Located<RuleMode>{*mode == "audit" ? RuleMode::audit : RuleMode::enforce,
                                        value_at};
        }
      } else if (key == "tags") {
        if (auto tags = read_strings(entry)) rule.tags = std::move(*tags);
      } else if (key == "max_per_cycle") {
        rule.max_per_cycle = read_count(entry);
      } else if (key == "approve") {
        if (read_choice(entry, {"required"})) rule.approve_required = value_at;
      }
    }

    if (appending) {
      if (!find(entries, "condition") && !find(entries, "exceptions")) {
        item_error(at, "an 'override: append' rule needs 'condition' or 'exceptions' to add");
      }
    } else {
      if (!find(entries, "condition")) item_error(at, "a rule needs 'condition'");
      if (!find(entries, "action")) item_error(at, "a rule needs 'action'");
    }
    if (!item_failed_) result_.definitions.emplace_back(std::move(rule));
  }

  std::optional<Located<std::uint64_t>> read_count(const Entry& entry) {
    const FilePosition at = value_position(entry);
    if (entry.value.IsScalar() && entry.value.Tag() != "!") {
      const std::string& text = entry.value.Scalar();
      std::uint64_t count = 0;
      const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), count);
      if (status == std::errc{} && end == text.data() + text.size() && !text.empty()) {
        return Located<std::uint64_t>{count, at};
      }
    }
    item_error(at, "'max_per_cycle' must be a non-negative integer, not " + describe(entry.value));
    return std::nullopt;
  }
};

}  // namespace

RuleFile read_rule_file(std::string_view file_name, std::string_view yaml_text) {
  return FileReader(file_name, yaml_text).read();
}

}  // namespace qtriage::rules

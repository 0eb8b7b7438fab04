#include "condition_position.hpp"

#include <algorithm>

namespace qtriage::rules {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// As if every line of the condition started at the column of its first line
// (true for `|` blocks and single-line scalars).
FilePosition naive(const ConditionText& condition, std::size_t offset) {
  offset = std::min(offset, condition.text.size());
  const std::string_view before = std::string_view(condition.text).substr(0, offset);
  const auto lines = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const auto line_start = before.rfind('\n');
  const std::size_t column = line_start == std::string_view::npos ? offset : offset - line_start - 1;
  return {condition.text_at.line + lines, condition.text_at.column + column};
}

std::size_t byte_of(std::string_view text, FilePosition at) {
  std::size_t offset = 0;
  for (std::size_t line = 1; line < at.line; ++line) {
    const auto newline = text.find('\n', offset);
    if (newline == std::string_view::npos) return std::string_view::npos;
    offset = newline + 1;
  }
  offset += at.column - 1;
  return offset <= text.size() ? offset : std::string_view::npos;
}

}  // namespace

FilePosition locate_in_file(const ConditionText& condition, std::size_t offset,
                            std::string_view file_text) {
  const std::size_t start = byte_of(file_text, condition.text_at);
  if (file_text.empty() || start == std::string_view::npos) return naive(condition, offset);

  // Walk the condition and the file side by side; a blank in the condition
  // stands for any run of blanks (a folded line break and its indentation).
  const std::string_view text = condition.text;
  offset = std::min(offset, text.size());
  std::size_t file = start;
  for (std::size_t i = 0; i < offset; ++i) {
    if (file >= file_text.size()) return naive(condition, offset);
    if (text[i] == file_text[file]) {
      ++file;
      continue;
    }
    if (is_blank(text[i]) && is_blank(file_text[file])) {
      while (file < file_text.size() && is_blank(file_text[file])) ++file;
      continue;
    }
    if (is_blank(text[i])) continue;  // the file's blanks were consumed already
    return naive(condition, offset);  // escapes in a quoted scalar: give up
  }
  // Blanks before the target in the file belong to the gap, not the target.
  if (offset < text.size() && !is_blank(text[offset])) {
    while (file < file_text.size() && is_blank(file_text[file])) ++file;
  }
  const std::string_view before = file_text.substr(0, file);
  const auto line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const auto line_start = before.rfind('\n');
  const std::size_t column = line_start == std::string_view::npos ? file + 1 : file - line_start;
  return {line, column};
}

}  // namespace qtriage::rules

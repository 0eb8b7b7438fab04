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
  // The scalar's quote, if any: its escapes are several characters in the
  // file for one in the text.
  const char quote = start > 0 && (file_text[start - 1] == '"' || file_text[start - 1] == '\'')
                         ? file_text[start - 1]
                         : '\0';
  for (std::size_t i = 0; i < offset; ++i) {
    // `\` at the end of a line of a double-quoted scalar joins the lines.
    while (quote == '"' && file + 1 < file_text.size() && file_text[file] == '\\' &&
           (file_text[file + 1] == '\n' || file_text[file + 1] == '\r')) {
      file += 2;
      while (file < file_text.size() && is_blank(file_text[file])) ++file;
    }
    if (file >= file_text.size()) return naive(condition, offset);
    if (quote == '"' && file_text[file] == '\\' && file + 1 < file_text.size()) {
      const char kind = file_text[file + 1];
      // \xXX, \uXXXX, \UXXXXXXXX may stand for several bytes of the text.
      if (kind == 'x' || kind == 'u' || kind == 'U') return naive(condition, offset);
      file += 2;  // \" \\ \n \t ...: one character of the text
      continue;
    }
    if (quote == '\'' && text[i] == '\'' && file_text.substr(file, 2) == "''") {
      file += 2;
      continue;
    }
    // A blank takes the whole run of the file's blanks, also when they start
    // with the same character: a folded blank line is one '\n' in the text
    // for "\n\n" and the indentation in the file.
    if (is_blank(text[i]) && is_blank(file_text[file])) {
      while (file < file_text.size() && is_blank(file_text[file])) ++file;
      continue;
    }
    if (text[i] == file_text[file]) {
      ++file;
      continue;
    }
    if (is_blank(text[i])) continue;  // the file's blanks were consumed already
    return naive(condition, offset);  // not the text of this scalar: give up
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

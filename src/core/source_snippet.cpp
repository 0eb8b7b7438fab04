#include "qtriage/core/source_snippet.hpp"

namespace qtriage {

std::string source_snippet(std::string_view text, std::size_t line, std::size_t column) {
  if (line == 0) return {};
  std::size_t start = 0;
  for (std::size_t current = 1; current < line; ++current) {
    const auto newline = text.find('\n', start);
    if (newline == std::string_view::npos) return {};
    start = newline + 1;
  }
  if (start > text.size()) return {};
  auto end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  std::string_view source_line = text.substr(start, end - start);
  if (!source_line.empty() && source_line.back() == '\r') source_line.remove_suffix(1);

  std::string caret_line;
  for (std::size_t i = 0; i + 1 < column; ++i) {
    caret_line += (i < source_line.size() && source_line[i] == '\t') ? '\t' : ' ';
  }
  return std::string(source_line) + "\n" + caret_line + "^";
}

}  // namespace qtriage

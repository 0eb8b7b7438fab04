#include "qtriage/config/config_error.hpp"

namespace qtriage::config {

std::string to_string(const ConfigError& error) {
  if (error.line == 0) return error.file + ": " + error.message;
  return error.file + ":" + std::to_string(error.line) + ":" + std::to_string(error.column) +
         ": " + error.message;
}

namespace {

// Line `line` (1-based) of `text` and a caret under byte column `column`.
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

}  // namespace

std::string format_error(const ConfigError& error, std::string_view file_text) {
  std::string text = to_string(error);
  // The line of a mistake under api.auth may hold a secret written there by
  // mistake: the message (which never quotes a value there) must do.
  if (error.message.rfind("api.auth", 0) == 0) return text;
  const std::string snippet = source_snippet(file_text, error.line, error.column);
  if (!snippet.empty()) text += "\n" + snippet;
  return text;
}

}  // namespace qtriage::config

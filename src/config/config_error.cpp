#include "qtriage/config/config_error.hpp"

#include "qtriage/core/source_snippet.hpp"

namespace qtriage::config {

std::string to_string(const ConfigError& error) {
  if (error.line == 0) return error.file + ": " + error.message;
  return error.file + ":" + std::to_string(error.line) + ":" + std::to_string(error.column) +
         ": " + error.message;
}

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

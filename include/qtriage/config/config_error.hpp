#pragma once
// A mistake in the configuration file, located where the user must look.

#include <cstddef>
#include <string>
#include <string_view>

namespace qtriage::config {

struct ConfigError {
  std::string file;
  std::size_t line = 0;    // 1-based; 0 when the mistake has no place (unreadable file)
  std::size_t column = 0;  // 1-based; 0 when line is 0
  std::string message;     // "poll.interval: '5x' is not a duration (use 30s, 15m, 2h or 7d)"
  bool operator==(const ConfigError&) const = default;
};

// "file:line:column: message", or "file: message" when there is no place.
std::string to_string(const ConfigError& error);

// to_string plus the source line and a caret under the column; without the
// line for a mistake under api.auth, where a secret may have been written.
std::string format_error(const ConfigError& error, std::string_view file_text);

}  // namespace qtriage::config

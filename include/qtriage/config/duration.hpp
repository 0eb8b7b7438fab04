#pragma once
// Durations as the configuration writes them: a whole number and a unit,
// `500ms`, `30s`, `15m`, `2h`, `7d`. A bare number is refused: `30` could be
// seconds or minutes, and a wrong guess is a silent misconfiguration.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace qtriage::config {

struct ParsedDuration {
  std::optional<std::chrono::milliseconds> value;
  std::string error;  // set when value is empty: "'5x' is not a duration (use 30s, 15m, 2h or 7d)"
};

ParsedDuration parse_duration(std::string_view text);

// The shortest exact spelling with the largest unit: 300000ms -> "5m", 1500ms -> "1500ms".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace qtriage::config

#include "qtriage/config/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

namespace qtriage::config {

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t milliseconds;
};

// Largest first, for format_duration.
constexpr std::array<Unit, 5> kUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

// A duration longer than this (about 100 years) is certainly a typo.
constexpr std::int64_t kMaxMilliseconds = 36'500LL * 86'400'000LL;

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

ParsedDuration parse_duration(std::string_view text) {
  const std::string not_a_duration =
      quoted(text) + " is not a duration (use 30s, 15m, 2h or 7d)";
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return {std::nullopt, not_a_duration};
  const std::string_view number = text.substr(0, digits);
  const std::string_view suffix = text.substr(digits);
  if (suffix.empty()) {
    const std::string n(number);
    return {std::nullopt, quoted(text) + " has no unit (write " + n + "s, " + n + "m, " + n +
                              "h or " + n + "d)"};
  }
  const Unit* unit = nullptr;
  for (const auto& candidate : kUnits) {
    if (candidate.suffix == suffix) unit = &candidate;
  }
  if (unit == nullptr) return {std::nullopt, not_a_duration};
  std::int64_t count = 0;
  const auto [end, status] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (status != std::errc{} || end != number.data() + number.size() ||
      count > kMaxMilliseconds / unit->milliseconds) {
    return {std::nullopt, quoted(text) + " is too long (at most 36500d)"};
  }
  return {std::chrono::milliseconds(count * unit->milliseconds), {}};
}

std::string format_duration(std::chrono::milliseconds duration) {
  const std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  for (const auto& unit : kUnits) {
    if (ms % unit.milliseconds == 0) {
      return std::to_string(ms / unit.milliseconds) + std::string(unit.suffix);
    }
  }
  return std::to_string(ms) + "ms";
}

}  // namespace qtriage::config

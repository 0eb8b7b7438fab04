#pragma once
// RFC 3339 timestamps as the investigate API writes them ("2024-01-05T10:00:00Z")
// and reads them (any offset, optional fraction).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace qtriage::sim {

using SysMillis = std::chrono::sys_time<std::chrono::milliseconds>;

// "YYYY-MM-DDTHH:MM:SSZ".
std::string format_rfc3339(std::chrono::sys_seconds t);
// "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_rfc3339_millis(SysMillis t);
// "YYYY-MM-DDTHH:MM:SS", no zone: the investigate id and the deprecated ts/sent_date.
std::string format_local_seconds(std::chrono::sys_seconds t);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". A space in place of
// '+' is read as '+': an unencoded '+' in a query string arrives as a space.
// std::nullopt for anything else, including impossible dates.
std::optional<SysMillis> parse_rfc3339(std::string_view text);

// Parses the zone-less "YYYY-MM-DDTHH:MM:SS" of an investigate id.
std::optional<std::chrono::sys_seconds> parse_local_seconds(std::string_view text);

}  // namespace qtriage::sim

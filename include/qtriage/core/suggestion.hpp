#pragma once
// "Did you mean ...?": the closest known name to a misspelt one, so every
// error about an unknown field, macro, list, action or value can offer a fix.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage {

// Edit distance in bytes (insert, delete, replace, swap two neighbours).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `written`: a case-insensitive equal first, else
// the nearest within a third of the word's length (1 edit for words of up
// to 3 letters, then 2 or 3).
std::optional<std::string_view> closest_name(std::string_view written,
                                             const std::vector<std::string_view>& known);

// " (did you mean 'x'?)" for closest_name, or "" when nothing is close.
std::string did_you_mean(std::string_view written, const std::vector<std::string_view>& known);

}  // namespace qtriage

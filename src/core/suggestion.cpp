#include "qtriage/core/suggestion.hpp"

#include <algorithm>
#include <cctype>

namespace qtriage {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows: the transposition of two neighbours ("mdoe") is one edit.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

std::optional<std::string_view> closest_name(std::string_view written,
                                             const std::vector<std::string_view>& known) {
  for (const auto candidate : known) {
    if (equal_ignoring_case(written, candidate)) return candidate;
  }
  // Short words tolerate fewer edits: "spf" is not a misspelling of "age".
  const std::size_t limit =
      written.size() <= 3 ? 1 : std::clamp<std::size_t>(written.size() / 3, 2, 3);
  std::optional<std::string_view> best;
  std::size_t best_distance = limit + 1;
  for (const auto candidate : known) {
    const auto distance = edit_distance(written, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view written, const std::vector<std::string_view>& known) {
  const auto best = closest_name(written, known);
  return best ? " (did you mean '" + std::string(*best) + "'?)" : std::string{};
}

}  // namespace qtriage

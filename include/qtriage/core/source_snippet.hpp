#pragma once
// Shows an author where a mistake is: the source line and a caret under it.

#include <cstddef>
#include <string>
#include <string_view>

namespace qtriage {

// Line `line` (1-based) of `text` and a second line with `^` under byte column
// `column` (1-based), e.g. "  condition: dispositon = MALICIOUS\n             ^".
// Tabs before the column are kept so the caret lines up. Empty when the line
// does not exist.
std::string source_snippet(std::string_view text, std::size_t line, std::size_t column);

}  // namespace qtriage

#pragma once
// Where something is in a condition's text. The caller adds the file position
// (a condition is usually a YAML scalar inside a rules file).

#include <cstddef>
#include <string>

namespace qtriage::rules {

struct SourcePosition {
  std::size_t offset = 0;  // bytes from the start of the condition text
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in characters (UTF-8 code points)
  bool operator==(const SourcePosition&) const = default;
};

// "line:column", the way rule authors read positions.
std::string to_string(const SourcePosition& at);

}  // namespace qtriage::rules

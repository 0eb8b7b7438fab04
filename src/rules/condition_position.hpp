#pragma once
// Maps a position inside a condition's text back to the rules file, also
// inside folded (`>`) and multi-line plain scalars, whose lines YAML joined
// with spaces. Internal to src/rules.

#include "qtriage/rules/rule_definitions.hpp"

#include <cstddef>
#include <string_view>

namespace qtriage::rules {

// `offset`: bytes into `condition.text`. `file_text` may be empty (unknown):
// then the position is computed as if the condition kept its line breaks.
FilePosition locate_in_file(const ConditionText& condition, std::size_t offset,
                            std::string_view file_text);

}  // namespace qtriage::rules

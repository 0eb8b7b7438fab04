#pragma once
// Parses the text of a rule's condition (see the "Conditions" section of the
// rule language) into a syntax tree. Only syntax: names are neither looked up
// nor type-checked here.

#include "qtriage/rules/condition_ast.hpp"
#include "qtriage/rules/parse_error.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string_view>

namespace qtriage::rules {

// Deeper nesting of parentheses, `not` and quantifiers is refused rather than
// risking the stack on hostile input.
inline constexpr std::size_t max_condition_nesting = 200;

// The tree, or the first error with its position in `text`.
boost::system::result<Expr, ParseError> parse_condition(std::string_view text);

}  // namespace qtriage::rules

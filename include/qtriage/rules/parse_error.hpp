#pragma once
// Why a condition did not parse, and where: one message a rule author can act on.

#include "qtriage/rules/source_position.hpp"

#include <boost/assert/source_location.hpp>

#include <string>

namespace qtriage::rules {

struct ParseError {
  SourcePosition at;
  std::string message;
  bool operator==(const ParseError&) const = default;
};

// "line:column: message"
std::string to_string(const ParseError& error);

// Lets boost::system::result<T, ParseError>::value() throw on an error.
[[noreturn]] void throw_exception_from_error(const ParseError& error,
                                             const boost::source_location& where);

}  // namespace qtriage::rules

#include "qtriage/rules/parse_error.hpp"

#include <stdexcept>

namespace qtriage::rules {

std::string to_string(const ParseError& error) {
  return to_string(error.at) + ": " + error.message;
}

void throw_exception_from_error(const ParseError& error, const boost::source_location&) {
  throw std::invalid_argument(to_string(error));
}

}  // namespace qtriage::rules

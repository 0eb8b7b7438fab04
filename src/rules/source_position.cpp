#include "qtriage/rules/source_position.hpp"

namespace qtriage::rules {

std::string to_string(const SourcePosition& at) {
  return std::to_string(at.line) + ":" + std::to_string(at.column);
}

}  // namespace qtriage::rules

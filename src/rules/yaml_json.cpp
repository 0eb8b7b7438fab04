#include "yaml_json.hpp"

#include <charconv>
#include <cstdint>

namespace qtriage::rules {

namespace {

boost::json::value plain_scalar(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  const char* first = text.data();
  const char* last = text.data() + text.size();
  std::int64_t integer = 0;
  if (auto [end, error] = std::from_chars(first, last, integer);
      error == std::errc{} && end == last) {
    return integer;
  }
  double real = 0;
  if (auto [end, error] = std::from_chars(first, last, real);
      error == std::errc{} && end == last && text.find_first_of("0123456789") != std::string::npos) {
    return real;
  }
  return boost::json::string(text);
}

}  // namespace

boost::json::value yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      // "!" is yaml-cpp's tag for a quoted scalar: always a string.
      if (node.Tag() == "!") return boost::json::string(node.Scalar());
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      boost::json::array array;
      for (const auto& element : node) array.push_back(yaml_to_json(element));
      return array;
    }
    case YAML::NodeType::Map: {
      boost::json::object object;
      for (const auto& entry : node) {
        object[entry.first.Scalar()] = yaml_to_json(entry.second);
      }
      return object;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return nullptr;
}

}  // namespace qtriage::rules

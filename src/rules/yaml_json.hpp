#pragma once
// YAML to JSON, for messages written in YAML test cases: plain scalars become
// booleans, nulls and numbers as YAML 1.2 reads them; quoted ones stay strings.
// Internal to src/rules.

#include <boost/json/value.hpp>
#include <yaml-cpp/yaml.h>

namespace qtriage::rules {

boost::json::value yaml_to_json(const YAML::Node& node);

}  // namespace qtriage::rules

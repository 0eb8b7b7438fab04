#include "qtriage/sim/api_envelope.hpp"

#include <boost/json/array.hpp>

namespace qtriage::sim {

namespace json = boost::json;

json::object success_envelope(json::value result) {
  return json::object{{"success", true},
                      {"errors", json::array{}},
                      {"messages", json::array{}},
                      {"result", std::move(result)}};
}

json::object failure_envelope(int code, std::string_view message) {
  return json::object{{"success", false},
                      {"errors", json::array{json::object{{"code", code}, {"message", message}}}},
                      {"messages", json::array{}},
                      {"result", nullptr}};
}

}  // namespace qtriage::sim

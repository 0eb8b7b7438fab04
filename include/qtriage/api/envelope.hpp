#pragma once
// Cloudflare's v4 envelope: {success, errors, messages, result, result_info}.

#include "qtriage/api/error.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace qtriage::api {

struct Envelope {
  boost::json::value result;                      // null when absent
  std::optional<boost::json::value> result_info;  // present only when sent and not null
  std::vector<ApiMessage> messages;
};

// Turns an HTTP answer into the envelope or an error value:
// - a 2xx with success:true gives the envelope;
// - success:false, or a non-2xx status, gives ErrorKind::api / http_status with
//   Cloudflare's errors, messages and the status (a non-2xx with an
//   unreadable body still gives http_status, with a short excerpt of the body);
// - a 2xx body that is not JSON, or not an object with a boolean `success`,
//   gives ErrorKind::decode saying what was wrong (never the whole body).
Result<Envelope> parse_envelope(int http_status, std::string_view body);

}  // namespace qtriage::api

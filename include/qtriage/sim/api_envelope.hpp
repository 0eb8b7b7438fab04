#pragma once
// Cloudflare's v4 envelope: {success, errors, messages, result[, result_info]},
// and the error codes the sim answers with.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>

namespace qtriage::sim {

// Cloudflare documents few codes for this API; these are the sim's, all
// >= 1000 as the schema's failure envelope requires. (The v4 API has been
// seen answering a 429 with code 971, which the schema would refuse; the sim
// uses 1015, Cloudflare's "you are being rate limited" number, and qtriage
// looks at the status and Retry-After, never at the code.)
namespace error_code {
inline constexpr int rate_limited = 1015;
inline constexpr int bad_request = 1001;        // a parameter or body member is invalid
inline constexpr int end_of_life = 1002;        // `page`, `postfix_ids`
inline constexpr int not_found = 1003;          // no such message
inline constexpr int unsupported_media = 1004;  // a POST body that is not application/json
inline constexpr int malformed_json = 1005;
inline constexpr int too_many_ids = 1006;  // over 1000 ids in one call
inline constexpr int payload_too_large = 1007;
inline constexpr int poll_expired = 1008;    // an unknown search poll token
inline constexpr int internal_error = 1500;  // injected 5xx
inline constexpr int method_not_allowed = 7001;
inline constexpr int no_route = 7003;
inline constexpr int authentication = 10000;
}  // namespace error_code

boost::json::object success_envelope(boost::json::value result);
// {success:false, errors:[{code, message}], messages:[], result:null}
boost::json::object failure_envelope(int code, std::string_view message);

}  // namespace qtriage::sim

#pragma once
// The investigate operations, past HTTP: each validates its parameters or
// body like Cloudflare does and answers with the JSON the schema describes.
// The caller (sim_api.cpp) has already authenticated, rate limited, drawn
// faults and parsed the body as JSON.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "qtriage/sim/mailbox.hpp"

namespace qtriage::sim {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Cloudflare documents 1000 ids per call as the batch limit.
inline constexpr std::size_t kMaxIdsPerCall = 1000;

struct ApiAnswer {
  unsigned status = 200;
  boost::json::value body;
  std::optional<std::string> location;  // 202 search: where to poll
};

ApiAnswer failure(unsigned status, int code, std::string_view message);

// What the mutations applied, for /__admin/counters.
struct AppliedChanges {
  std::uint64_t moves = 0;         // messages moved
  std::uint64_t releases = 0;      // messages released
  std::uint64_t reclassifies = 0;  // reclassifications recorded
};

// Every change below happens only when `apply` is true (see Mailbox).
struct MutationContext {
  Mailbox& mailbox;
  std::chrono::system_clock::time_point now;
  bool apply;
  AppliedChanges& applied;
};

// The search parameters, validated; a 400 answer when one is invalid.
// `now` gives the defaults: start = now - 30 days, end = now.
std::variant<SearchRequest, ApiAnswer> parse_search(const QueryParams& params,
                                                    std::chrono::system_clock::time_point now);
ApiAnswer search_page(const Mailbox& mailbox, const SearchRequest& request);
// 202: "taking longer than expected", poll `location`.
ApiAnswer search_accepted(std::size_t per_page, std::string location);

ApiAnswer get_message(const Mailbox& mailbox, std::string_view id);
ApiAnswer get_detections(const Mailbox& mailbox, std::string_view id);

ApiAnswer bulk_move(MutationContext context, const boost::json::value& body);
ApiAnswer move_one(MutationContext context, std::string_view id, const boost::json::value& body);
ApiAnswer release(MutationContext context, const boost::json::value& body);
ApiAnswer reclassify(MutationContext context, std::string_view id, const boost::json::value& body);

// The investigate ids a bulk move or release body names (best effort: none
// when the body is not as expected), for the call log.
std::vector<std::string> ids_in_body(std::string_view endpoint, const boost::json::value& body);

}  // namespace qtriage::sim

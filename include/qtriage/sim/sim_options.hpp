#pragma once
// Everything that shapes one simulated Cloudflare account.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "qtriage/sim/faults.hpp"
#include "qtriage/sim/sim_rate_limit.hpp"

namespace qtriage::sim {

struct SimOptions {
  std::string account_id = "023e105f4ecef8ad9ca31a8372d0c353";
  std::size_t messages = 1000;
  std::uint64_t seed = 1;
  std::chrono::hours spread{24};  // messages' scanned_at spread over [start - spread, start)
  // "start" (default: real now). The sim's clock starts there and runs at the
  // real pace, so messages added later are scanned after every generated one.
  std::optional<std::chrono::system_clock::time_point> now;
  FaultOptions faults;
  RateLimitOptions rate_limit;
  bool future_api =
      false;  // add what a future API may send: unknown enum values, unexpected nulls, extra fields
};

}  // namespace qtriage::sim

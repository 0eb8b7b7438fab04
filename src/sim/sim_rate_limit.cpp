#include "qtriage/sim/sim_rate_limit.hpp"

#include <algorithm>
#include <stdexcept>

namespace qtriage::sim {

namespace {

// Whole seconds until `until`, rounded up: a client that waits t seconds is
// never early.
std::int64_t seconds_until(SimRateLimiter::Time now, SimRateLimiter::Time until) {
  const auto left = std::chrono::ceil<std::chrono::seconds>(until - now).count();
  return std::max<std::int64_t>(left, 0);
}

}  // namespace

SimRateLimiter::SimRateLimiter(RateLimitOptions options) : options_(options) {
  if (options_.requests < 1 || options_.window.count() < 1 || options_.block.count() < 0) {
    throw std::invalid_argument(
        "rate limit: requests and window must be at least 1, block at least 0");
  }
}

RateDecision SimRateLimiter::admit(const std::string& credential, Time now) {
  CredentialState& s = states_[credential];
  RateDecision d;
  if (s.blocked_until) {
    if (now < *s.blocked_until) {
      d.allowed = false;
      d.remaining = 0;
      d.reset_seconds = seconds_until(now, *s.blocked_until);
      d.retry_after = d.reset_seconds;
      return d;
    }
    // The block is over: a fresh window starts with this request.
    s = CredentialState{};
    s.window_start = now;
  }
  if (s.used == 0 || now >= s.window_start + options_.window) {
    s.window_start = now;
    s.used = 0;
  }
  if (s.used >= options_.requests) {
    s.blocked_until = now + options_.block;
    d.allowed = false;
    d.went_over = true;
    d.remaining = 0;
    d.reset_seconds = options_.block.count();
    d.retry_after = options_.block.count();
    return d;
  }
  ++s.used;
  d.remaining = options_.requests - s.used;
  d.reset_seconds = std::max<std::int64_t>(seconds_until(now, s.window_start + options_.window), 1);
  return d;
}

std::string SimRateLimiter::ratelimit_header(const RateDecision& decision) {
  return "\"default\";r=" + std::to_string(decision.remaining) +
         ";t=" + std::to_string(decision.reset_seconds);
}

std::string SimRateLimiter::policy_header() const {
  return "\"default\";q=" + std::to_string(options_.requests) +
         ";w=" + std::to_string(options_.window.count());
}

}  // namespace qtriage::sim

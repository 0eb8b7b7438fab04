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
  CredentialState& state = states_[credential];
  RateDecision decision;
  if (state.blocked_until) {
    if (now < *state.blocked_until) {
      decision.allowed = false;
      decision.remaining = 0;
      decision.reset_seconds = seconds_until(now, *state.blocked_until);
      decision.retry_after = decision.reset_seconds;
      return decision;
    }
    // The block is over, but the window still holds whatever it admitted
    // less than `window` ago: a block shorter than the window does not reset it.
    state.blocked_until.reset();
  }
  // A request admitted at t occupies its slot during [t, t + window).
  while (!state.admitted.empty() && state.admitted.front() + options_.window <= now) {
    state.admitted.pop_front();
  }
  if (std::ssize(state.admitted) >= options_.requests) {
    state.blocked_until = now + options_.block;
    decision.allowed = false;
    decision.went_over = true;
    decision.remaining = 0;
    decision.reset_seconds = options_.block.count();
    decision.retry_after = options_.block.count();
    return decision;
  }
  state.admitted.push_back(now);
  decision.remaining = options_.requests - std::ssize(state.admitted);
  // Never empty here (this request is in it), and the oldest leaves after now.
  decision.reset_seconds = seconds_until(now, state.admitted.front() + options_.window);
  return decision;
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

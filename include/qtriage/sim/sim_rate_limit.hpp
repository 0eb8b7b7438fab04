#pragma once
// Cloudflare's rate limit as the sim applies it: a sliding window, at most
// `requests` admitted requests of a credential in any `window` (stricter than
// a fixed window, which lets twice the quota through around its edge). The
// request that goes over is answered 429 and blocks that credential for
// `block`: every request until then is 429 too. Refused requests do not count
// toward the window. Time is passed in, so the arithmetic is tested without
// sleeping.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace qtriage::sim {

struct RateLimitOptions {
  bool enabled = true;
  std::int64_t requests = 1200;
  std::chrono::seconds window{300};
  std::chrono::seconds block{300};
};

struct RateDecision {
  bool allowed = true;
  std::int64_t remaining = 0;      // the Ratelimit header's r
  std::int64_t reset_seconds = 0;  // its t: until the oldest admitted leaves, or the block ends
  std::int64_t retry_after = 0;    // when refused: the Retry-After header
  bool went_over = false;          // this request started the block
};

class SimRateLimiter {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit SimRateLimiter(RateLimitOptions options);

  const RateLimitOptions& options() const { return options_; }
  // Counts one request of `credential` at `now`.
  RateDecision admit(const std::string& credential, Time now);

  // `"default";r=REMAINING;t=SECONDS`
  static std::string ratelimit_header(const RateDecision& decision);
  // `"default";q=QUOTA;w=WINDOW`
  std::string policy_header() const;

 private:
  struct CredentialState {
    std::deque<Time> admitted;  // admitted within the last window, oldest first
    std::optional<Time> blocked_until;
  };

  RateLimitOptions options_;
  std::unordered_map<std::string, CredentialState> states_;
};

}  // namespace qtriage::sim

#pragma once
// One token bucket per credential, shared by every account and every call.
//
// Cloudflare allows `requests` per `per` (1200 per 5 minutes) per user or
// token, shared with every other user of that token; going over blocks all
// calls for five minutes. qtriage spends only `share` of it, and never more
// in any window of `per`: the bucket's burst plus what it refills over `per`
// add up to requests x share. Cloudflare's Ratelimit headers correct the
// bucket downwards; a 429 pauses it. Waiting calls are served by priority.

#include "qtriage/core/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

namespace qtriage::api {

// Lower value is served first when the budget is short.
enum class Priority : std::uint8_t { move = 0, release = 1, reclassify = 2, search = 3 };
const char* to_string(Priority p);

struct RateLimitConfig {
  std::int64_t requests = 1200;
  Duration per = std::chrono::minutes(5);
  double share = 0.8;
  // Most tokens available at once (also bounded by Cloudflare's 200/s per IP).
  // 0 picks min(budget / 10, 100).
  std::int64_t burst = 0;
};

struct RateLimiterSnapshot {
  double tokens = 0;
  double capacity = 0;
  double refill_per_second = 0;
  std::optional<SteadyTime> paused_until;
  std::size_t waiting = 0;
  std::uint64_t granted = 0;
  double share_budget = 0;  // requests of qtriage's share a window (quota x share)
  // Requests left of qtriage's share in Cloudflare's current window, from
  // the last Ratelimit header (what the token's other users are left aside);
  // empty before any header came, and once that header's window has reset.
  std::optional<double> share_remaining;
};

// The parameters of a Ratelimit or Ratelimit-Policy header's first item, e.g.
// `"default";r=50;t=30` or `"default";q=1200;w=300`. Parameters come in any
// order; unknown ones are skipped. Absent ones stay empty.
struct RateLimitFields {
  std::optional<std::int64_t> remaining;       // r
  std::optional<std::int64_t> reset_seconds;   // t
  std::optional<std::int64_t> quota;           // q
  std::optional<std::int64_t> window_seconds;  // w
  bool operator==(const RateLimitFields&) const = default;
};
// nullopt when the value is not of that shape (a malformed or negative
// parameter spoils the whole header: better ignored than half-believed).
std::optional<RateLimitFields> parse_ratelimit_fields(std::string_view header);

// The limiter's arithmetic, without waiting: a token bucket whose time is
// passed in. `capacity` tokens at most, refilled continuously at
// `refill_per_second`; while paused it holds nothing and refills nothing.
// Grants in any window of length w are at most capacity + rate x w.
class TokenBucket {
 public:
  // Starts full at `now`. Throws std::invalid_argument unless capacity >= 1
  // and refill_per_second > 0.
  TokenBucket(double capacity, double refill_per_second, SteadyTime now);

  // The shape that spends at most `budget` per `per`: capacity = burst
  // (min(budget / 10, 100) when burst is 0 or would leave nothing to refill),
  // refill = (budget - capacity) / per; capacity at least 1, so the budget
  // must be above 1 (std::invalid_argument otherwise).
  static TokenBucket for_budget(double budget, Duration per, std::int64_t burst, SteadyTime now);

  // Takes one token if a whole one is there.
  bool try_take(SteadyTime now);
  // Zero when a token is there; otherwise how long until one is (rounded up,
  // so that after waiting it is).
  Duration time_until_token(SteadyTime now) const;
  double tokens(SteadyTime now) const;
  // Empties the bucket; no refill before `until`. A longer pause is kept.
  void pause_until(SteadyTime until, SteadyTime now);
  // Lowers the tokens to `at_most`; never raises them.
  void lower_to(double at_most, SteadyTime now);
  // New capacity and rate from `now` on; tokens above the new capacity go.
  void reshape(double capacity, double refill_per_second, SteadyTime now);

  double capacity() const { return capacity_; }
  double refill_per_second() const { return refill_per_second_; }
  // Set while the pause lasts at `now`.
  std::optional<SteadyTime> paused_until(SteadyTime now) const;

 private:
  void refill(SteadyTime now);

  double capacity_;
  double refill_per_second_;
  double tokens_;
  SteadyTime last_refill_;
  std::optional<SteadyTime> paused_until_;
};

// Not thread-safe: use a RateLimiter from one thread, the one running the
// io_context its callers' coroutines run on (the single-threaded daemon's).
class RateLimiter {
 public:
  // Throws std::invalid_argument for a config it cannot keep: requests, per or
  // share not positive, share above 1, a budget (requests x share) of 1 or
  // less, a burst negative or not below the budget.
  RateLimiter(Clock& clock, RateLimitConfig config);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Resumes when this call may send one request. Waiters are served lowest
  // Priority first, then in arrival order. Cancellable (throws operation_aborted).
  // Throws operation_aborted too if the limiter is destroyed while waiting.
  // True when the call had to wait for its turn or a token, false when it
  // was granted at once (for the metrics: only the former is a wait).
  asio::awaitable<bool> acquire(Priority priority);

  // Corrects the bucket from an answer's headers, e.g.
  //   Ratelimit: "default";r=50;t=30       (r remaining, t seconds to reset)
  //   Ratelimit-Policy: "default";q=1200;w=300
  // Remaining below what the bucket holds (others spend the budget) lowers the
  // bucket; if nothing of qtriage's share is left, it pauses until the reset.
  // Unparseable values are ignored. Either argument may be empty.
  void observe_headers(std::string_view ratelimit, std::string_view ratelimit_policy);

  // A 429: no request until `retry_after` (five minutes when absent) has passed.
  void on_too_many_requests(std::optional<std::chrono::seconds> retry_after);

  RateLimiterSnapshot snapshot() const;

  // For shutdown: every waiting call, the one sleeping for the next token
  // too, wakes now and throws operation_aborted; later acquires throw at once.
  void shutdown();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qtriage::api

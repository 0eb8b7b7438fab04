#pragma once
// Retries, with the retry policy (whether to try again) apart from the backoff
// policy (how long to wait), and time from an injected Clock.

#include "qtriage/api/error.hpp"
#include "qtriage/core/clock.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <random>

namespace qtriage::api {

struct RetryConfig {
  int attempts = 6;                             // attempts in all, the first included
  Duration initial_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::minutes(2);
};

// Retried: transport failures, timeouts, 408, 409, 429 and 5xx. Everything
// else (other 4xx, success:false on a 2xx, decode errors, refused, cancelled)
// fails at once.
class RetryPolicy {
 public:
  explicit RetryPolicy(int max_attempts) : max_attempts_(max_attempts) {}
  static bool is_retryable(const ApiError& error);
  // `attempt` is the 1-based number of the attempt that just failed.
  bool should_retry(const ApiError& error, int attempt) const {
    return attempt < max_attempts_ && is_retryable(error);
  }
  int max_attempts() const { return max_attempts_; }

 private:
  int max_attempts_;
};

// Exponential backoff with full jitter: the wait after failed attempt n is
// uniform in [0, min(max, initial * 2^(n-1))]; a Retry-After from the server
// raises it to at least that. Seeded, so tests can replay it.
class BackoffPolicy {
 public:
  BackoffPolicy(Duration initial, Duration max, std::uint64_t seed = std::random_device{}());
  Duration delay(int failed_attempt, const ApiError& error);
  // The ceiling before jitter for attempt n: min(max, initial * 2^(n-1)).
  Duration ceiling(int failed_attempt) const;

 private:
  Duration initial_, max_;
  std::mt19937_64 rng_;
};

// Told about each retry, for metrics and logs.
struct RetryEvent {
  int failed_attempt;  // 0: a stale pooled connection, resent at once within the attempt
  const ApiError& error;
  Duration delay;
};
using RetryObserver = std::function<void(const RetryEvent&)>;

// Runs `attempt` until it succeeds, the policy says stop, the next wait
// would pass `deadline`, or it is cancelled. The error returned says why
// retrying stopped: its detail gains "; not retried", "; gave up after N
// attempts" or "; deadline reached after N attempts".
template <class T>
asio::awaitable<Result<T>> with_retries(Clock& clock, const RetryPolicy& policy,
                                        BackoffPolicy& backoff,
                                        const std::function<asio::awaitable<Result<T>>()>& attempt,
                                        const RetryObserver& observer = {},
                                        std::optional<SteadyTime> deadline = std::nullopt) {
  for (int n = 1;; ++n) {
    Result<T> outcome = co_await attempt();
    if (outcome) co_return outcome;
    ApiError error = outcome.error();
    if (!policy.should_retry(error, n)) {
      error.detail += RetryPolicy::is_retryable(error)
                          ? "; gave up after " + std::to_string(n) + " attempts"
                          : std::string("; not retried");
      co_return error;
    }
    const Duration wait = backoff.delay(n, error);
    if (deadline && clock.now() + wait > *deadline) {
      error.detail += "; deadline reached after " + std::to_string(n) + " attempts";
      co_return error;
    }
    if (observer) observer(RetryEvent{n, error, wait});
    co_await clock.sleep_for(wait);
  }
}

}  // namespace qtriage::api

#include "qtriage/api/retry.hpp"

#include <algorithm>

namespace qtriage::api {

namespace {

bool is_retryable_status(int status) {
  // 408 and 429 say "later", 409 a conflicting request that may be over by
  // then, 5xx a fault on the server's side. Other 4xx would fail again.
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

// The longest Retry-After believed, as the rate limiter does: a bogus huge
// value must not park a call for ever (or overflow a clock).
constexpr std::chrono::seconds kLongestRetryAfter = std::chrono::hours(24);

Duration to_duration(std::chrono::seconds seconds) {
  if (seconds <= std::chrono::seconds::zero()) return Duration::zero();
  return std::min(seconds, kLongestRetryAfter);
}

}  // namespace

bool RetryPolicy::is_retryable(const ApiError& error) {
  switch (error.kind) {
    case ErrorKind::transport:
    case ErrorKind::timeout:
      return true;
    case ErrorKind::http_status:
    case ErrorKind::api:  // success:false on a 2xx: the status says no
      return is_retryable_status(error.http_status);
    case ErrorKind::decode:
    case ErrorKind::refused:
    case ErrorKind::cancelled:
      return false;
  }
  return false;
}

BackoffPolicy::BackoffPolicy(Duration initial, Duration max, std::uint64_t seed)
    : initial_(std::max(initial, Duration::zero())),
      max_(std::max(max, Duration::zero())),
      rng_(seed) {}

Duration BackoffPolicy::ceiling(int failed_attempt) const {
  Duration bound = std::min(initial_, max_);
  // Doubling stops at max_, so a large attempt number costs at most ~64 steps
  // and never overflows.
  for (int n = 1; n < failed_attempt && bound < max_; ++n) {
    if (bound == Duration::zero()) break;
    bound = bound > max_ - bound ? max_ : bound * 2;
  }
  return bound;
}

Duration BackoffPolicy::delay(int failed_attempt, const ApiError& error) {
  std::uniform_int_distribution<Duration::rep> full_jitter(0, ceiling(failed_attempt).count());
  const Duration jittered(full_jitter(rng_));
  if (!error.retry_after) return jittered;
  return std::max(jittered, to_duration(*error.retry_after));
}

}  // namespace qtriage::api

// Whether to retry (RetryPolicy), how long to wait (BackoffPolicy), and the
// loop that joins them (with_retries), with a FakeClock recording each wait.

#include "qtriage/api/retry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace qtriage::api {
namespace {

using namespace std::chrono_literals;

ApiError error_of_kind(ErrorKind kind, int status = 0) {
  ApiError error;
  error.kind = kind;
  error.http_status = status;
  error.detail = to_string(kind);
  return error;
}

ApiError http_error(int status, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  ApiError error = error_of_kind(ErrorKind::http_status, status);
  error.detail = "status " + std::to_string(status);
  error.retry_after = retry_after;
  return error;
}

// ---- RetryPolicy -----------------------------------------------------------------

struct Classification {
  ApiError error;
  bool retryable;
};

TEST(RetryPolicy, RetriesTransientFailuresOnly) {
  const std::vector<Classification> table = {
      {error_of_kind(ErrorKind::transport), true},
      {error_of_kind(ErrorKind::timeout), true},
      {http_error(408), true},
      {http_error(409), true},
      {http_error(429), true},
      {http_error(500), true},
      {http_error(502), true},
      {http_error(503), true},
      {http_error(504), true},
      {http_error(599), true},
      {http_error(400), false},
      {http_error(401), false},
      {http_error(403), false},
      {http_error(404), false},
      {http_error(405), false},
      {http_error(410), false},
      {http_error(413), false},
      {http_error(422), false},
      {http_error(499), false},
      {http_error(0), false},
      {http_error(600), false},
      {error_of_kind(ErrorKind::api, 200), false},
      {error_of_kind(ErrorKind::api, 202), false},
      {error_of_kind(ErrorKind::decode, 200), false},
      {error_of_kind(ErrorKind::decode, 503), false},
      {error_of_kind(ErrorKind::refused), false},
      {error_of_kind(ErrorKind::cancelled), false},
  };
  for (const auto& [error, retryable] : table) {
    EXPECT_EQ(RetryPolicy::is_retryable(error), retryable) << error.to_string();
  }
}

TEST(RetryPolicy, StopsRetryingAtTheLastAttempt) {
  const RetryPolicy policy(3);
  EXPECT_EQ(policy.max_attempts(), 3);
  EXPECT_TRUE(policy.should_retry(http_error(503), 1));
  EXPECT_TRUE(policy.should_retry(http_error(503), 2));
  EXPECT_FALSE(policy.should_retry(http_error(503), 3));
  EXPECT_FALSE(policy.should_retry(http_error(400), 1));
}

// ---- BackoffPolicy ---------------------------------------------------------------

TEST(BackoffPolicy, CeilingsDoubleFromInitialUpToMax) {
  const BackoffPolicy backoff(1s, 2min, 7);
  const std::vector<Duration> expected = {1s, 2s, 4s, 8s, 16s, 32s, 64s, 120s, 120s};
  for (int attempt = 1; attempt <= 9; ++attempt) {
    EXPECT_EQ(backoff.ceiling(attempt), expected[attempt - 1]) << attempt;
  }
}

TEST(BackoffPolicy, CeilingNeverOverflowsForLargeAttempts) {
  const BackoffPolicy capped(1s, 2min, 7);
  EXPECT_EQ(capped.ceiling(64), 2min);
  EXPECT_EQ(capped.ceiling(1000), 2min);
  EXPECT_EQ(capped.ceiling(INT_MAX), 2min);
  const BackoffPolicy uncapped(1ns, Duration::max(), 7);
  EXPECT_EQ(uncapped.ceiling(63), Duration(Duration::rep{1} << 62));
  EXPECT_EQ(uncapped.ceiling(64), Duration::max());
  EXPECT_EQ(uncapped.ceiling(INT_MAX), Duration::max());
}

TEST(BackoffPolicy, CeilingIsMaxWhenInitialIsAboveIt) {
  const BackoffPolicy backoff(10s, 3s, 7);
  EXPECT_EQ(backoff.ceiling(1), 3s);
  EXPECT_EQ(backoff.ceiling(5), 3s);
}

TEST(BackoffPolicy, FullJitterStaysWithinZeroAndTheCeiling) {
  BackoffPolicy backoff(1s, 2min, 12345);
  for (int attempt = 1; attempt <= 10; ++attempt) {
    std::set<Duration::rep> seen;
    for (int sample = 0; sample < 500; ++sample) {
      const Duration delay = backoff.delay(attempt, http_error(503));
      ASSERT_GE(delay, Duration::zero());
      ASSERT_LE(delay, backoff.ceiling(attempt));
      seen.insert(delay.count());
    }
    EXPECT_GT(seen.size(), 400u) << "jitter spreads the delays, attempt " << attempt;
  }
}

TEST(BackoffPolicy, SameSeedGivesTheSameSequence) {
  BackoffPolicy first(1s, 2min, 42);
  BackoffPolicy second(1s, 2min, 42);
  BackoffPolicy other(1s, 2min, 43);
  std::vector<Duration> a, b, c;
  for (int attempt = 1; attempt <= 20; ++attempt) {
    a.push_back(first.delay(attempt, http_error(503)));
    b.push_back(second.delay(attempt, http_error(503)));
    c.push_back(other.delay(attempt, http_error(503)));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(BackoffPolicy, RetryAfterRaisesTheDelayToAtLeastIt) {
  BackoffPolicy backoff(1s, 2min, 42);
  EXPECT_EQ(backoff.delay(1, http_error(429, 300s)), 300s);
  EXPECT_EQ(backoff.delay(8, http_error(429, 300s)), 300s);
}

TEST(BackoffPolicy, RetryAfterBelowTheJitterLeavesTheJitter) {
  BackoffPolicy backoff(1s, 2min, 42);
  BackoffPolicy twin(1s, 2min, 42);
  const Duration jittered = twin.delay(7, http_error(503));
  ASSERT_GT(jittered, 1s);
  EXPECT_EQ(backoff.delay(7, http_error(429, 1s)), jittered);
}

TEST(BackoffPolicy, HugeRetryAfterIsCappedAtADay) {
  BackoffPolicy backoff(1s, 2min, 42);
  EXPECT_EQ(backoff.delay(1, http_error(429, std::chrono::seconds::max())),
            std::chrono::hours(24));
}

// ---- with_retries ----------------------------------------------------------------

class RetryLoop : public ::testing::Test {
 protected:
  // Runs with_retries to the end. Each attempt returns the next of `script`
  // (an error, or success with the value 42 once the script is used up).
  Result<int> run(const RetryPolicy& policy, const std::vector<ApiError>& script,
                  const RetryObserver& observer = {}) {
    std::function<asio::awaitable<Result<int>>()> attempt =
        [this, &script]() -> asio::awaitable<Result<int>> {
      const std::size_t index = attempts++;
      if (index < script.size()) co_return script[index];
      co_return 42;
    };
    std::optional<Result<int>> outcome;
    std::exception_ptr failure;
    asio::co_spawn(ctx, with_retries<int>(clock, policy, backoff, attempt, observer),
                   [&](std::exception_ptr e, Result<int> result) {
                     failure = e;
                     outcome = std::move(result);
                   });
    ctx.run();
    if (failure) std::rethrow_exception(failure);
    return *outcome;
  }

  // The waits a fresh policy with the same seed gives for these failures.
  static std::vector<Duration> expected_waits(const std::vector<ApiError>& failures) {
    BackoffPolicy twin(1s, 2min, kSeed);
    std::vector<Duration> waits;
    for (std::size_t i = 0; i < failures.size(); ++i) {
      waits.push_back(twin.delay(static_cast<int>(i) + 1, failures[i]));
    }
    return waits;
  }

  static constexpr std::uint64_t kSeed = 2024;
  FakeClock clock;
  asio::io_context ctx;
  BackoffPolicy backoff{1s, 2min, kSeed};
  std::size_t attempts = 0;
};

TEST_F(RetryLoop, SucceedsAfterTransientFailuresWaitingTheBackoffBetween) {
  const std::vector<ApiError> failures = {http_error(503), error_of_kind(ErrorKind::transport),
                                          error_of_kind(ErrorKind::timeout)};
  const auto result = run(RetryPolicy(6), failures);
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(attempts, 4u);
  EXPECT_EQ(clock.sleeps(), expected_waits(failures));
}

TEST_F(RetryLoop, SucceedsAtOnceWithoutWaiting) {
  const auto result = run(RetryPolicy(6), {});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(attempts, 1u);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST_F(RetryLoop, StopsAtOnceOnBadRequest) {
  const auto result = run(RetryPolicy(6), {http_error(400), http_error(503)});
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().http_status, 400);
  EXPECT_EQ(result.error().detail, "status 400; not retried");
  EXPECT_EQ(attempts, 1u);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST_F(RetryLoop, StopsAtOnceOnSuccessFalse) {
  const auto result = run(RetryPolicy(6), {error_of_kind(ErrorKind::api, 200)});
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().detail, "api; not retried");
  EXPECT_EQ(attempts, 1u);
}

TEST_F(RetryLoop, GivesUpAfterMaxAttempts) {
  const std::vector<ApiError> failures(5, http_error(503));
  const auto result = run(RetryPolicy(3), failures);
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().http_status, 503);
  EXPECT_EQ(result.error().detail, "status 503; gave up after 3 attempts");
  EXPECT_EQ(attempts, 3u);
  EXPECT_EQ(clock.sleeps(), expected_waits({http_error(503), http_error(503)}));
}

TEST_F(RetryLoop, StopsOnAPermanentErrorAfterTransientOnes) {
  const auto result = run(RetryPolicy(6), {http_error(502), http_error(404)});
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().detail, "status 404; not retried");
  EXPECT_EQ(attempts, 2u);
  EXPECT_EQ(clock.sleeps().size(), 1u);
}

TEST_F(RetryLoop, HonoursRetryAfterOver429) {
  const auto result = run(RetryPolicy(6), {http_error(429, 30s), http_error(429, 5s)});
  ASSERT_TRUE(result.has_value());
  // Ceilings of 1 s and 2 s: the server's waits are longer and win.
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{30s, 5s}));
}

TEST_F(RetryLoop, TellsTheObserverAboutEachRetry) {
  struct Seen {
    int failed_attempt;
    int status;
    Duration delay;
  };
  std::vector<Seen> seen;
  const RetryObserver observer = [&seen](const RetryEvent& event) {
    seen.push_back({event.failed_attempt, event.error.http_status, event.delay});
  };
  const auto result = run(RetryPolicy(6), {http_error(500), http_error(502)}, observer);
  ASSERT_TRUE(result.has_value());
  const auto sleeps = clock.sleeps();
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(seen[0].failed_attempt, 1);
  EXPECT_EQ(seen[0].status, 500);
  EXPECT_EQ(seen[0].delay, sleeps[0]);
  EXPECT_EQ(seen[1].failed_attempt, 2);
  EXPECT_EQ(seen[1].status, 502);
  EXPECT_EQ(seen[1].delay, sleeps[1]);
}

TEST_F(RetryLoop, ObserverIsNotCalledWhenNothingIsRetried) {
  int calls = 0;
  const auto result =
      run(RetryPolicy(1), {http_error(503)}, [&calls](const RetryEvent&) { ++calls; });
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().detail, "status 503; gave up after 1 attempts");
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace qtriage::api

// The limiter's arithmetic on its own: time is passed in, nothing waits.

#include "qtriage/api/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace qtriage::api {
namespace {

using namespace std::chrono_literals;

const SteadyTime t0 = SteadyTime{} + 1h;

TEST(TokenBucket, StartsFullAndGrantsTheBurstAtOnce) {
  TokenBucket bucket(5, 1, t0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.try_take(t0)) << i;
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 0);
}

TEST(TokenBucket, RefillsAtItsRateUpToCapacity) {
  TokenBucket bucket(10, 2, t0);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bucket.try_take(t0));
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 1250ms), 2.5);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 5s), 10);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 1h), 10);
}

TEST(TokenBucket, GrantsOnlyWholeTokens) {
  TokenBucket bucket(1, 1, t0);
  ASSERT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 + 999ms));
  EXPECT_TRUE(bucket.try_take(t0 + 1s));
  EXPECT_FALSE(bucket.try_take(t0 + 1s));
}

TEST(TokenBucket, TimeUntilNextTokenIsZeroWhileOneIsThere) {
  TokenBucket bucket(2, 4, t0);
  EXPECT_EQ(bucket.time_until_token(t0), Duration::zero());
}

TEST(TokenBucket, TimeUntilNextTokenCountsTheMissingFraction) {
  TokenBucket bucket(2, 4, t0);
  ASSERT_TRUE(bucket.try_take(t0));
  ASSERT_TRUE(bucket.try_take(t0));
  EXPECT_EQ(bucket.time_until_token(t0), 250ms);
  EXPECT_EQ(bucket.time_until_token(t0 + 100ms), 150ms);
  EXPECT_EQ(bucket.time_until_token(t0 + 250ms), Duration::zero());
}

TEST(TokenBucket, TimeUntilNextTokenRoundsUpSoTheTokenIsThereAfterIt) {
  TokenBucket bucket(1, 3, t0);  // a third of a second per token: not whole nanoseconds
  ASSERT_TRUE(bucket.try_take(t0));
  const Duration wait = bucket.time_until_token(t0);
  EXPECT_EQ(wait, 333'333'334ns);
  EXPECT_FALSE(bucket.try_take(t0 + wait - 1ns));
  EXPECT_TRUE(bucket.try_take(t0 + wait));
}

TEST(TokenBucket, PauseEmptiesItAndStopsTheRefill) {
  TokenBucket bucket(10, 2, t0);
  bucket.pause_until(t0 + 10s, t0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 5s), 0);
  EXPECT_FALSE(bucket.try_take(t0 + 9s));
  EXPECT_EQ(bucket.paused_until(t0 + 9s), t0 + 10s);
  // Refill starts from empty when the pause ends.
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 10s), 0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 11s), 2);
  EXPECT_EQ(bucket.paused_until(t0 + 10s), std::nullopt);
  EXPECT_EQ(bucket.time_until_token(t0), 10s + 500ms);
  EXPECT_EQ(bucket.time_until_token(t0 + 4s), 6s + 500ms);
}

TEST(TokenBucket, PauseIsNeverShortened) {
  TokenBucket bucket(10, 2, t0);
  bucket.pause_until(t0 + 300s, t0);
  bucket.pause_until(t0 + 30s, t0 + 1s);
  EXPECT_EQ(bucket.paused_until(t0 + 1s), t0 + 300s);
  bucket.pause_until(t0 + 400s, t0 + 2s);
  EXPECT_EQ(bucket.paused_until(t0 + 2s), t0 + 400s);
}

TEST(TokenBucket, PauseThatEndedAlreadyOnlyEmptiesIt) {
  TokenBucket bucket(10, 2, t0);
  bucket.pause_until(t0, t0);
  EXPECT_EQ(bucket.paused_until(t0), std::nullopt);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 1s), 2);
}

TEST(TokenBucket, LowerToLowersButNeverRaises) {
  TokenBucket bucket(10, 1, t0);
  bucket.lower_to(4, t0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 4);
  bucket.lower_to(8, t0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 4);
  bucket.lower_to(-3, t0);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 0);
  // It still refills afterwards.
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 3s), 3);
}

TEST(TokenBucket, LowerToCountsTheRefillUpToNowFirst) {
  TokenBucket bucket(10, 1, t0);
  bucket.lower_to(0, t0);
  bucket.lower_to(5, t0 + 3s);  // 3 accrued: 5 lowers nothing
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 3s), 3);
}

TEST(TokenBucket, ReshapeAppliesTheNewRateFromNowAndCutsToTheNewCapacity) {
  TokenBucket bucket(10, 1, t0);
  bucket.lower_to(0, t0);
  bucket.reshape(20, 4, t0 + 2s);  // 2 accrued at the old rate
  EXPECT_DOUBLE_EQ(bucket.capacity(), 20);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 4);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 3s), 6);
  bucket.reshape(5, 1, t0 + 3s);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 3s), 5);
}

TEST(TokenBucket, ReshapeKeepsAPause) {
  TokenBucket bucket(10, 1, t0);
  bucket.pause_until(t0 + 60s, t0);
  bucket.reshape(20, 2, t0 + 1s);
  EXPECT_EQ(bucket.paused_until(t0 + 1s), t0 + 60s);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0 + 61s), 2);
}

TEST(TokenBucket, RejectsAShapeThatCouldNeverGrant) {
  EXPECT_THROW(TokenBucket(0.5, 1, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(10, 0, t0), std::invalid_argument);
  TokenBucket bucket(10, 1, t0);
  EXPECT_THROW(bucket.reshape(10, -1, t0), std::invalid_argument);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 1);
}

TEST(TokenBucketForBudget, DefaultBurstIsATenthOfTheBudget) {
  const auto bucket = TokenBucket::for_budget(960, 5min, 0, t0);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 96);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 864.0 / 300);
  EXPECT_DOUBLE_EQ(bucket.tokens(t0), 96);
}

TEST(TokenBucketForBudget, DefaultBurstIsAtMostAHundred) {
  const auto bucket = TokenBucket::for_budget(5000, 5min, 0, t0);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 100);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 4900.0 / 300);
}

TEST(TokenBucketForBudget, ConfiguredBurstIsKept) {
  const auto bucket = TokenBucket::for_budget(960, 5min, 60, t0);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 60);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 3);
}

TEST(TokenBucketForBudget, BurstThatLeavesNothingToRefillFallsBackToTheDefault) {
  const auto bucket = TokenBucket::for_budget(500, 5min, 500, t0);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 50);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 1.5);
}

TEST(TokenBucketForBudget, SmallBudgetStillHoldsOneToken) {
  const auto bucket = TokenBucket::for_budget(4, 1min, 0, t0);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 1);
  EXPECT_DOUBLE_EQ(bucket.refill_per_second(), 3.0 / 60);
  EXPECT_THROW(TokenBucket::for_budget(1, 1min, 0, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket::for_budget(100, 0s, 0, t0), std::invalid_argument);
}

TEST(TokenBucketForBudget, NeverGrantsMoreThanTheBudgetInAnyWindow) {
  // Greedy taker polling every 10 ms: over a window starting full, what it
  // gets is capacity + rate x window = the budget, and not one more.
  auto bucket = TokenBucket::for_budget(960, 5min, 0, t0);
  int granted = 0;
  for (SteadyTime now = t0; now <= t0 + 5min; now += 10ms) {
    while (bucket.try_take(now)) ++granted;
  }
  EXPECT_EQ(granted, 960);
}

// ---- header parsing ---------------------------------------------------------------

RateLimitFields remaining_and_reset(std::int64_t remaining, std::int64_t reset_seconds) {
  RateLimitFields fields;
  fields.remaining = remaining;
  fields.reset_seconds = reset_seconds;
  return fields;
}

TEST(ParseRateLimitFields, ReadsRemainingAndReset) {
  EXPECT_EQ(parse_ratelimit_fields(R"("default";r=50;t=30)"), remaining_and_reset(50, 30));
}

TEST(ParseRateLimitFields, ReadsQuotaAndWindow) {
  RateLimitFields expected;
  expected.quota = 1200;
  expected.window_seconds = 300;
  EXPECT_EQ(parse_ratelimit_fields(R"("default";q=1200;w=300)"), expected);
}

TEST(ParseRateLimitFields, TakesParametersInAnyOrderWithWhitespace) {
  EXPECT_EQ(parse_ratelimit_fields("  \"default\" ; t = 30 ;\tr=50  "),
            remaining_and_reset(50, 30));
}

TEST(ParseRateLimitFields, TakesAnyLeadingName) {
  const RateLimitFields expected = remaining_and_reset(7, 1);
  EXPECT_EQ(parse_ratelimit_fields("default;r=7;t=1"), expected);
  EXPECT_EQ(parse_ratelimit_fields(R"("per-token;odd";r=7;t=1)"), expected);
  EXPECT_EQ(parse_ratelimit_fields("r=7;t=1"), expected);
}

TEST(ParseRateLimitFields, SkipsUnknownParametersAndLaterItems) {
  EXPECT_EQ(parse_ratelimit_fields(R"("default";pk=:abc=:;r=5;burst;t=9, "other";r=1;t=1)"),
            remaining_and_reset(5, 9));
}

TEST(ParseRateLimitFields, NameAloneHasNoFields) {
  EXPECT_EQ(parse_ratelimit_fields(R"("default")"), RateLimitFields{});
}

TEST(ParseRateLimitFields, RejectsWhatItCannotRead) {
  for (const char* header :
       {"", "   ", R"("default";r=abc;t=30)", R"("default";r=-5;t=30)", R"("default";r=;t=30)",
        R"("default;r=5)", R"("default" r=5)", R"("default";;r=5)", R"("default";r=5x)",
        R"("default";r=99999999999999999999999)", "de fault;r=5"}) {
    EXPECT_EQ(parse_ratelimit_fields(header), std::nullopt) << header;
  }
}

}  // namespace
}  // namespace qtriage::api

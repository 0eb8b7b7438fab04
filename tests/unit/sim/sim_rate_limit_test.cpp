// The per-credential sliding window, the 429 block and the headers, with time passed in.

#include "qtriage/sim/sim_rate_limit.hpp"

#include <gtest/gtest.h>

namespace qtriage::sim {
namespace {

using namespace std::chrono_literals;
using Time = SimRateLimiter::Time;

constexpr Time kT0 = Time{} + 1000s;

RateLimitOptions small(std::int64_t requests = 3, std::chrono::seconds block = 60s) {
  RateLimitOptions o;
  o.requests = requests;
  o.window = 10s;
  o.block = block;
  return o;
}

TEST(SimRateLimit, CountsDownWithinTheWindow) {
  SimRateLimiter limiter(small());
  auto d = limiter.admit("a", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
  EXPECT_EQ(d.reset_seconds, 10);
  d = limiter.admit("a", kT0 + 4s);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(d.reset_seconds, 6);
  d = limiter.admit("a", kT0 + 9500ms);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_seconds, 1) << "rounded up: waiting t seconds is never early";
}

TEST(SimRateLimit, ASlotFreesWhenItsRequestLeavesTheWindow) {
  SimRateLimiter limiter(small());
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.admit("a", kT0 + std::chrono::seconds{i}).allowed);
  auto d = limiter.admit("a", kT0 + 10s);
  EXPECT_TRUE(d.allowed) << "the request at t0 occupied [t0, t0+10s)";
  EXPECT_EQ(d.remaining, 0) << "those at t0+1s and t0+2s are still in the window";
  EXPECT_EQ(d.reset_seconds, 1) << "until the one at t0+1s leaves";
  d = limiter.admit("a", kT0 + 25s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2) << "all the others have left";
  EXPECT_EQ(d.reset_seconds, 10) << "the window length when this is the only one";
}

TEST(SimRateLimit, ABurstAcrossAWindowEdgeIsHeldToTheQuota) {
  // A fixed window starting at t0 would admit 3 just before t0+10s and 3 more
  // just after; a sliding one admits at most 3 in any 10 seconds.
  SimRateLimiter limiter(small(3, 0s));
  EXPECT_TRUE(limiter.admit("a", kT0 + 9s).allowed);
  EXPECT_TRUE(limiter.admit("a", kT0 + 9500ms).allowed);
  EXPECT_TRUE(limiter.admit("a", kT0 + 9900ms).allowed);
  for (const auto at : {10s, 12s, 18s}) {
    const auto d = limiter.admit("a", kT0 + at);
    EXPECT_FALSE(d.allowed) << "at t0+" << at.count() << "s";
    EXPECT_TRUE(d.went_over);
  }
  auto d = limiter.admit("a", kT0 + 19s);
  EXPECT_TRUE(d.allowed) << "the request at t0+9s has left";
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_seconds, 1) << "0.5s until t0+9.5s leaves, rounded up";
  EXPECT_FALSE(limiter.admit("a", kT0 + 19400ms).allowed);
  EXPECT_TRUE(limiter.admit("a", kT0 + 19500ms).allowed);
  EXPECT_TRUE(limiter.admit("a", kT0 + 19900ms).allowed);
  EXPECT_FALSE(limiter.admit("a", kT0 + 20s).allowed);
}

TEST(SimRateLimit, RefusedRequestsDoNotCount) {
  SimRateLimiter limiter(small(2, 0s));
  EXPECT_TRUE(limiter.admit("a", kT0).allowed);
  EXPECT_TRUE(limiter.admit("a", kT0 + 1s).allowed);
  for (int i = 2; i < 10; ++i)
    EXPECT_FALSE(limiter.admit("a", kT0 + std::chrono::seconds{i}).allowed);
  auto d = limiter.admit("a", kT0 + 10s);
  EXPECT_TRUE(d.allowed) << "the refusals at t0+2s..t0+9s hold no slot";
  EXPECT_EQ(d.remaining, 0);
  d = limiter.admit("a", kT0 + 11s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_seconds, 9) << "until the one at t0+10s leaves";
}

TEST(SimRateLimit, ABlockShorterThanTheWindowDoesNotEmptyIt) {
  SimRateLimiter limiter(small(3, 2s));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.admit("a", kT0).allowed);
  EXPECT_TRUE(limiter.admit("a", kT0 + 1s).went_over);
  auto d = limiter.admit("a", kT0 + 3s);
  EXPECT_FALSE(d.allowed) << "the block is over but the window is still full";
  EXPECT_TRUE(d.went_over) << "so this request goes over again";
  EXPECT_EQ(d.retry_after, 2);
  d = limiter.admit("a", kT0 + 10s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
}

TEST(SimRateLimit, GoingOverBlocksEveryRequestForTheBlockTime) {
  SimRateLimiter limiter(small());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.admit("a", kT0).allowed);
  auto d = limiter.admit("a", kT0 + 1s);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.went_over);
  EXPECT_EQ(d.retry_after, 60);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_seconds, 60);
  // Well after the window would have reset, the block still holds.
  d = limiter.admit("a", kT0 + 31s);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.went_over);
  EXPECT_EQ(d.retry_after, 30);
  d = limiter.admit("a", kT0 + 60500ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1);
  d = limiter.admit("a", kT0 + 61s);
  EXPECT_TRUE(d.allowed) << "the block is over";
  EXPECT_EQ(d.remaining, 2);
}

TEST(SimRateLimit, CredentialsAreCountedApart) {
  SimRateLimiter limiter(small(1));
  EXPECT_TRUE(limiter.admit("a", kT0).allowed);
  EXPECT_FALSE(limiter.admit("a", kT0).allowed);
  EXPECT_TRUE(limiter.admit("b", kT0).allowed);
}

TEST(SimRateLimit, HeadersFollowCloudflaresFormat) {
  SimRateLimiter limiter(RateLimitOptions{});
  const auto d = limiter.admit("a", kT0);
  EXPECT_EQ(SimRateLimiter::ratelimit_header(d), "\"default\";r=1199;t=300");
  EXPECT_EQ(limiter.policy_header(), "\"default\";q=1200;w=300");
}

TEST(SimRateLimit, RefusesANonsenseQuota) {
  RateLimitOptions o;
  o.requests = 0;
  EXPECT_THROW(SimRateLimiter{o}, std::invalid_argument);
}

}  // namespace
}  // namespace qtriage::sim

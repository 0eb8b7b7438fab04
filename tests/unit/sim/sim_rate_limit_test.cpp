// The per-credential fixed window, the 429 block and the headers, with time passed in.

#include "qtriage/sim/sim_rate_limit.hpp"

#include <gtest/gtest.h>

namespace qtriage::sim {
namespace {

using namespace std::chrono_literals;
using Time = SimRateLimiter::Time;

constexpr Time kT0 = Time{} + 1000s;

RateLimitOptions small(std::int64_t requests = 3) {
  RateLimitOptions o;
  o.requests = requests;
  o.window = 10s;
  o.block = 60s;
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

TEST(SimRateLimit, ANewWindowRestoresTheQuota) {
  SimRateLimiter limiter(small());
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.admit("a", kT0 + std::chrono::seconds{i}).allowed);
  const auto d = limiter.admit("a", kT0 + 10s);
  EXPECT_TRUE(d.allowed) << "the window is [t0, t0+10s)";
  EXPECT_EQ(d.remaining, 2);
  EXPECT_EQ(d.reset_seconds, 10);
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

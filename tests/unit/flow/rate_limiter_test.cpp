// The limiter's waiting: many coroutines on one io_context, a FakeClock, and
// grants recorded with the (fake) time they happened at.

#include "qtriage/api/rate_limiter.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qtriage::api {
namespace {

using namespace std::chrono_literals;

// The default config with one field changed.
template <class Field, class Value>
RateLimitConfig config_with(Field RateLimitConfig::*field, Value value) {
  RateLimitConfig config;
  config.*field = value;
  return config;
}

// 1250 x 0.8 = 1000 per 900 s: a burst of 100, then exactly one token a second.
const RateLimitConfig kOneTokenPerSecond = [] {
  RateLimitConfig config;
  config.requests = 1250;
  config.per = 900s;
  config.share = 0.8;
  return config;
}();

Duration since_start(SteadyTime t) { return t - SteadyTime{}; }

struct Grant {
  std::string who;
  Duration at;
};

// How a spawned coroutine ended: "ok", "aborted", or what else it threw.
std::string describe(std::exception_ptr failure) {
  if (!failure) return "ok";
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted ? "aborted" : e.what();
  } catch (const std::exception& e) {
    return e.what();
  }
}

class RateLimiterTest : public ::testing::Test {
 protected:
  // A caller that acquires once and records when it got through.
  asio::awaitable<void> caller(RateLimiter& limiter, Priority priority, std::string who) {
    co_await limiter.acquire(priority);
    grants.push_back({std::move(who), since_start(clock.now())});
  }

  void spawn(RateLimiter& limiter, Priority priority, const std::string& who) {
    asio::co_spawn(ctx, caller(limiter, priority, who),
                   [this, who](std::exception_ptr e) { outcomes[who] = describe(e); });
  }

  void spawn_cancellable(RateLimiter& limiter, Priority priority, const std::string& who,
                         asio::cancellation_signal& signal) {
    asio::co_spawn(ctx, caller(limiter, priority, who),
                   asio::bind_cancellation_slot(signal.slot(), [this, who](std::exception_ptr e) {
                     outcomes[who] = describe(e);
                   }));
  }

  // Spends the whole burst now, so that the next caller has to wait.
  void drain(RateLimiter& limiter) {
    const auto burst = static_cast<int>(limiter.snapshot().capacity);
    asio::co_spawn(
        ctx,
        [&limiter, burst]() -> asio::awaitable<void> {
          for (int i = 0; i < burst; ++i) co_await limiter.acquire(Priority::search);
        },
        asio::detached);
    ctx.run();
    ctx.restart();
    ASSERT_EQ(limiter.snapshot().tokens, 0);
    ASSERT_EQ(clock.now(), SteadyTime{}) << "the burst must not wait";
  }

  std::vector<std::string> grant_order() const {
    std::vector<std::string> order;
    for (const auto& grant : grants) order.push_back(grant.who);
    return order;
  }

  FakeClock clock;
  asio::io_context ctx;
  std::vector<Grant> grants;
  std::map<std::string, std::string> outcomes;
};

// The most grants that fall in one closed window [t, t + per].
std::size_t most_grants_in_any_window(const std::vector<Duration>& times, Duration per) {
  std::size_t most = 0;
  std::size_t first = 0;
  for (std::size_t last = 0; last < times.size(); ++last) {
    while (times[last] - times[first] > per) ++first;
    most = std::max(most, last - first + 1);
  }
  return most;
}

TEST_F(RateLimiterTest, StartsFullWithTheShapeOfItsShareOfTheBudget) {
  RateLimiter limiter(clock, RateLimitConfig{});  // 1200 x 0.8 = 960 per 5 min
  const auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.capacity, 96);
  EXPECT_DOUBLE_EQ(snapshot.tokens, 96);
  EXPECT_DOUBLE_EQ(snapshot.refill_per_second, 864.0 / 300);
  EXPECT_EQ(snapshot.paused_until, std::nullopt);
  EXPECT_EQ(snapshot.waiting, 0u);
  EXPECT_EQ(snapshot.granted, 0u);
  EXPECT_DOUBLE_EQ(snapshot.share_budget, 960);
  EXPECT_EQ(snapshot.share_remaining, std::nullopt);  // no answer yet
}

// qtriage_rate_limit_waits_total counts the calls acquire() says waited.
TEST_F(RateLimiterTest, AcquireSaysWhetherTheCallHadToWait) {
  RateLimiter limiter(clock, RateLimitConfig{1200, std::chrono::minutes(5), 0.8, 2});
  std::vector<bool> waited;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          const bool queued = co_await limiter.acquire(Priority::search);
          waited.push_back(queued);
        }
      },
      asio::detached);
  ctx.run();
  // The burst of two is granted at once; the third waits for a refill.
  EXPECT_EQ(waited, (std::vector<bool>{false, false, true}));
  EXPECT_GT(clock.now(), SteadyTime{});
}

// What /metrics shows as qtriage_rate_limit_remaining_requests: Cloudflare's
// remaining count less the part left to the token's other users.
TEST_F(RateLimiterTest, TheShareRemainingComesFromTheLastRatelimitHeader) {
  RateLimiter limiter(clock, RateLimitConfig{});  // others keep 240 of 1200
  limiter.observe_headers(R"("default";r=1000;t=30)", "");
  EXPECT_EQ(limiter.snapshot().share_remaining, 760.0);
  limiter.observe_headers(R"("default";r=250;t=30)", "");
  EXPECT_EQ(limiter.snapshot().share_remaining, 10.0);
  limiter.observe_headers(R"("default";r=100;t=30)", "");  // others ate into qtriage's part
  EXPECT_EQ(limiter.snapshot().share_remaining, 0.0);
  limiter.observe_headers("", "");  // no header: the last count stands
  EXPECT_EQ(limiter.snapshot().share_remaining, 0.0);
  clock.advance(std::chrono::seconds(30));  // t=30: the window has reset
  EXPECT_EQ(limiter.snapshot().share_remaining, std::nullopt);
}

TEST_F(RateLimiterTest, RejectsAConfigItCannotKeep) {
  EXPECT_THROW(RateLimiter(clock, config_with(&RateLimitConfig::share, 0.0)),
               std::invalid_argument);
  EXPECT_THROW(RateLimiter(clock, config_with(&RateLimitConfig::share, 1.5)),
               std::invalid_argument);
  EXPECT_THROW(RateLimiter(clock, config_with(&RateLimitConfig::requests, 0)),
               std::invalid_argument);
  EXPECT_THROW(RateLimiter(clock, config_with(&RateLimitConfig::per, Duration::zero())),
               std::invalid_argument);
  EXPECT_THROW(RateLimiter(clock, config_with(&RateLimitConfig::burst, 960)),
               std::invalid_argument);
  EXPECT_THROW(RateLimiter(clock, config_with(&RateLimitConfig::burst, -1)), std::invalid_argument);
  EXPECT_NO_THROW(RateLimiter(clock, config_with(&RateLimitConfig::burst, 959)));
}

TEST_F(RateLimiterTest, GrantsTheBurstAtOnceThenOneTokenPerRefill) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  for (int i = 0; i < 103; ++i) spawn(limiter, Priority::search, "c" + std::to_string(i));
  ctx.run();
  ASSERT_EQ(grants.size(), 103u);
  EXPECT_EQ(grants[99].at, 0s);
  EXPECT_EQ(grants[100].at, 1s);
  EXPECT_EQ(grants[101].at, 2s);
  EXPECT_EQ(grants[102].at, 3s);
  // One coroutine at a time watches the clock: three one-second sleeps, no more.
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{1s, 1s, 1s}));
  EXPECT_EQ(limiter.snapshot().granted, 103u);
}

TEST_F(RateLimiterTest, NeverGrantsMoreThanBudgetInAnyWindow) {
  const RateLimitConfig config;  // 960 per 5 minutes
  RateLimiter limiter(clock, config);
  std::vector<Duration> granted_at;
  // 30 callers of mixed priorities, 100 requests each, all at once.
  for (int c = 0; c < 30; ++c) {
    asio::co_spawn(
        ctx,
        [&, priority = static_cast<Priority>(c % 4)]() -> asio::awaitable<void> {
          for (int i = 0; i < 100; ++i) {
            co_await limiter.acquire(priority);
            granted_at.push_back(since_start(clock.now()));
          }
        },
        asio::detached);
  }
  ctx.run();

  ASSERT_EQ(granted_at.size(), 3000u);
  EXPECT_EQ(limiter.snapshot().granted, 3000u);
  EXPECT_EQ(most_grants_in_any_window(granted_at, config.per), 960u);
  // 96 at once, the other 2904 at 2.88 a second: no slower than it must be.
  EXPECT_EQ(std::chrono::ceil<std::chrono::seconds>(granted_at.back()), 1009s);
}

TEST_F(RateLimiterTest, ServesMovesBeforeWaitingSearches) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  spawn(limiter, Priority::search, "search 1");  // sleeps towards the next token
  spawn(limiter, Priority::search, "search 2");
  spawn(limiter, Priority::search, "search 3");
  // The first move takes the token search 1 was waiting for; the second finds
  // none and queues ahead of every search.
  spawn(limiter, Priority::move, "move 1");
  spawn(limiter, Priority::move, "move 2");
  ctx.run();
  EXPECT_EQ(grant_order(),
            (std::vector<std::string>{"move 1", "move 2", "search 1", "search 2", "search 3"}));
  ASSERT_EQ(grants.size(), 5u);
  for (std::size_t i = 0; i < grants.size(); ++i) {
    EXPECT_EQ(grants[i].at, std::chrono::seconds(i + 1)) << grants[i].who;
  }
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{1s, 1s, 1s, 1s, 1s}));
}

TEST_F(RateLimiterTest, ServesLowestPriorityValueFirstThenInArrivalOrder) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  // The first waiter is a move, so nobody who comes later outranks it and
  // every later caller queues.
  spawn(limiter, Priority::move, "opener");
  spawn(limiter, Priority::search, "search 1");
  spawn(limiter, Priority::release, "release 1");
  spawn(limiter, Priority::reclassify, "reclassify 1");
  spawn(limiter, Priority::release, "release 2");
  spawn(limiter, Priority::search, "search 2");
  spawn(limiter, Priority::move, "move 1");
  spawn(limiter, Priority::move, "move 2");
  ctx.run();
  EXPECT_EQ(grant_order(),
            (std::vector<std::string>{"opener", "move 1", "move 2", "release 1", "release 2",
                                      "reclassify 1", "search 1", "search 2"}));
  EXPECT_EQ(clock.sleeps().size(), 8u);
  EXPECT_EQ(grants.back().at, 8s);
}

TEST_F(RateLimiterTest, ServesOnePriorityFirstComeFirstServed) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  for (int i = 0; i < 6; ++i) spawn(limiter, Priority::release, std::to_string(i));
  ctx.run();
  EXPECT_EQ(grant_order(), (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
}

TEST_F(RateLimiterTest, NewCallerDoesNotTakeAFreeTokenFromAWaiterOfTheSameRank) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  spawn(limiter, Priority::search, "waiting");
  // Runs after the waiter's one-second sleep moved the clock, so a token is
  // free; the waiter has not resumed yet to take it.
  asio::post(ctx, [&] {
    ASSERT_EQ(limiter.snapshot().tokens, 1);
    spawn(limiter, Priority::search, "newcomer");
  });
  ctx.run();
  EXPECT_EQ(grant_order(), (std::vector<std::string>{"waiting", "newcomer"}));
  EXPECT_EQ(grants[0].at, 1s);
  EXPECT_EQ(grants[1].at, 2s);
}

TEST_F(RateLimiterTest, MoveTakesAFreeTokenAheadOfWaitingSearches) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  spawn(limiter, Priority::search, "search");
  asio::post(ctx, [&] { spawn(limiter, Priority::move, "move"); });
  ctx.run();
  EXPECT_EQ(grant_order(), (std::vector<std::string>{"move", "search"}));
  EXPECT_EQ(grants[0].at, 1s);
  EXPECT_EQ(grants[1].at, 2s);
}

TEST_F(RateLimiterTest, CancelledWaiterLeavesTheQueueAndTheNextProceeds) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  asio::cancellation_signal cancel_second;
  spawn(limiter, Priority::search, "first");
  spawn_cancellable(limiter, Priority::search, "second", cancel_second);
  spawn(limiter, Priority::search, "third");
  asio::post(ctx, [&] {
    EXPECT_EQ(limiter.snapshot().waiting, 3u);
    cancel_second.emit(asio::cancellation_type::terminal);
  });
  ctx.run();
  EXPECT_EQ(outcomes["second"], "aborted");
  EXPECT_EQ(outcomes["first"], "ok");
  EXPECT_EQ(outcomes["third"], "ok");
  EXPECT_EQ(grant_order(), (std::vector<std::string>{"first", "third"}));
  EXPECT_EQ(grants[1].at, 2s);
  EXPECT_EQ(limiter.snapshot().waiting, 0u);
  EXPECT_EQ(limiter.snapshot().granted, 102u);
}

TEST_F(RateLimiterTest, CancelledHeadHandsItsTurnToTheNext) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  asio::cancellation_signal cancel_first;
  spawn_cancellable(limiter, Priority::search, "first", cancel_first);  // watches the clock
  spawn(limiter, Priority::search, "second");
  asio::post(ctx, [&] { cancel_first.emit(asio::cancellation_type::terminal); });
  ctx.run();
  EXPECT_EQ(outcomes["first"], "aborted");
  EXPECT_EQ(outcomes["second"], "ok");
  // The token the first one waited for goes to the second, without another wait.
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].at, 1s);
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{1s}));
  EXPECT_EQ(limiter.snapshot().waiting, 0u);
}

TEST_F(RateLimiterTest, CancellationsLoseNoTokenAndStarveNobody) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  constexpr int kCallers = 40;
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  for (int i = 0; i < kCallers; ++i) {
    signals.push_back(std::make_unique<asio::cancellation_signal>());
    spawn_cancellable(limiter, static_cast<Priority>(i % 4), std::to_string(i), *signals.back());
  }
  // Cancels every third caller still waiting, a few turns of the loop apart,
  // so that some are asleep on the clock and some queued when it happens.
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < kCallers; i += 3) {
          for (int turn = 0; turn < i % 5; ++turn) co_await asio::post(ctx, asio::use_awaitable);
          if (!outcomes.contains(std::to_string(i))) {
            signals[i]->emit(asio::cancellation_type::terminal);
          }
        }
      },
      asio::detached);
  ctx.run();

  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kCallers));
  std::size_t aborted = 0;
  for (const auto& [who, outcome] : outcomes) {
    EXPECT_TRUE(outcome == "ok" || (outcome == "aborted" && std::stoi(who) % 3 == 0)) << who;
    aborted += outcome == "aborted" ? 1 : 0;
  }
  EXPECT_GT(aborted, 0u);
  ASSERT_EQ(grants.size() + aborted, static_cast<std::size_t>(kCallers));
  // One grant a second, none skipped: a cancelled sleeper's token goes to the next.
  for (std::size_t i = 0; i < grants.size(); ++i) {
    EXPECT_EQ(grants[i].at, std::chrono::seconds(i + 1)) << grants[i].who;
  }
  EXPECT_EQ(limiter.snapshot().waiting, 0u);
}

TEST_F(RateLimiterTest, LosingAnAwaitableOrCancelsTheAcquire) {
  using namespace asio::experimental::awaitable_operators;
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  spawn(limiter, Priority::search, "first");
  std::optional<std::size_t> winner;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        const auto result =
            co_await (limiter.acquire(Priority::search) || asio::post(ctx, asio::use_awaitable));
        winner = result.index();
      },
      [&](std::exception_ptr e) { outcomes["racer"] = describe(e); });
  spawn(limiter, Priority::search, "last");
  ctx.run();
  EXPECT_EQ(outcomes["racer"], "ok");
  EXPECT_EQ(winner, 1u) << "the post wins; the acquire is cancelled";
  EXPECT_EQ(grant_order(), (std::vector<std::string>{"first", "last"}));
  EXPECT_EQ(limiter.snapshot().waiting, 0u);
  EXPECT_EQ(limiter.snapshot().granted, 102u);
}

TEST_F(RateLimiterTest, DestroyingTheLimiterAbortsItsWaiters) {
  auto limiter = std::make_unique<RateLimiter>(clock, kOneTokenPerSecond);
  drain(*limiter);
  spawn(*limiter, Priority::search, "watching the clock");
  spawn(*limiter, Priority::search, "queued");
  asio::post(ctx, [&] { limiter.reset(); });
  ctx.run();
  EXPECT_EQ(outcomes["watching the clock"], "aborted");
  EXPECT_EQ(outcomes["queued"], "aborted");
  EXPECT_TRUE(grants.empty());
}

TEST_F(RateLimiterTest, PausesFiveMinutesOnTooManyRequestsWithoutRetryAfter) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  limiter.on_too_many_requests(std::nullopt);
  const auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.tokens, 0);
  EXPECT_EQ(snapshot.paused_until, SteadyTime{} + 5min);
  spawn(limiter, Priority::move, "after the pause");
  ctx.run();
  ASSERT_EQ(grants.size(), 1u);
  // The pause, then one token's refill from empty.
  EXPECT_EQ(grants[0].at, 5min + 1s);
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{5min + 1s}));
  EXPECT_EQ(limiter.snapshot().paused_until, std::nullopt);
}

TEST_F(RateLimiterTest, PausesForRetryAfterOnTooManyRequests) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  limiter.on_too_many_requests(30s);
  EXPECT_EQ(limiter.snapshot().paused_until, SteadyTime{} + 30s);
  spawn(limiter, Priority::move, "after the pause");
  ctx.run();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].at, 31s);
}

TEST_F(RateLimiterTest, TooManyRequestsNeverShortensALongerPause) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  limiter.on_too_many_requests(std::nullopt);
  clock.advance(10s);
  limiter.on_too_many_requests(30s);
  EXPECT_EQ(limiter.snapshot().paused_until, SteadyTime{} + 5min);
  limiter.on_too_many_requests(600s);
  EXPECT_EQ(limiter.snapshot().paused_until, SteadyTime{} + 10s + 600s);
}

TEST_F(RateLimiterTest, PauseDuringAWaitDelaysTheWaiter) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  spawn(limiter, Priority::move, "move");
  // Runs while the move sleeps towards its token (the clock is at 1 s).
  asio::post(ctx, [&] { limiter.on_too_many_requests(60s); });
  ctx.run();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].at, 1s + 60s + 1s);
}

TEST_F(RateLimiterTest, HeadersLowerTheBucketToWhatIsLeftOfTheShare) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  // 280 left in Cloudflare's window, 250 of them (1250 x 0.2) for others:
  // 30, and one of slack for the moment the count is old.
  limiter.observe_headers(R"("default";r=280;t=30)", "");
  EXPECT_DOUBLE_EQ(limiter.snapshot().tokens, 31);
  EXPECT_EQ(limiter.snapshot().paused_until, std::nullopt);
  // More remaining than the bucket holds never raises it.
  limiter.observe_headers(R"("default";r=1000;t=30)", "");
  EXPECT_DOUBLE_EQ(limiter.snapshot().tokens, 31);
}

TEST_F(RateLimiterTest, HeadersAtExactlyTheShareEmptyTheBucketWithoutAPause) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  // 250 left: exactly the others' part (qtriage's own use reached its share).
  limiter.observe_headers(R"("default";r=250;t=30)", "");
  EXPECT_DOUBLE_EQ(limiter.snapshot().tokens, 1);  // the one of slack
  EXPECT_EQ(limiter.snapshot().paused_until, std::nullopt);
  // A little into the others' part (answers in flight): empty, no pause.
  limiter.observe_headers(R"("default";r=240;t=30)", "");
  EXPECT_DOUBLE_EQ(limiter.snapshot().tokens, 0);
  EXPECT_EQ(limiter.snapshot().paused_until, std::nullopt);
  spawn(limiter, Priority::search, "at the refill rate");
  ctx.run();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].at, 1s);  // one token a second, not the 30 s reset
}

TEST_F(RateLimiterTest, HeadersPauseUntilTheResetWhenOthersEatIntoTheirPart) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  // 237 left: 13 of the others' 250 are gone, more than the slack of 12.5.
  limiter.observe_headers(R"("default";r=237;t=30)", "");
  const auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.tokens, 0);
  EXPECT_EQ(snapshot.paused_until, SteadyTime{} + 30s);
  spawn(limiter, Priority::search, "after the reset");
  ctx.run();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].at, 31s);
}

TEST_F(RateLimiterTest, PolicyHeaderReshapesTheBucketToCloudflaresQuota) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  // 625 x 0.8 = 500 per 900 s: a burst of 50 and (500 - 50) / 900 a second.
  limiter.observe_headers("", R"("default";q=625;w=900)");
  auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.capacity, 50);
  EXPECT_DOUBLE_EQ(snapshot.refill_per_second, 0.5);
  EXPECT_DOUBLE_EQ(snapshot.tokens, 50);
  // Remaining is then read against the new quota: 125 of it is for others.
  limiter.observe_headers(R"("default";r=145;t=60)", "");
  EXPECT_DOUBLE_EQ(limiter.snapshot().tokens, 21);  // 20, and one of slack
}

TEST_F(RateLimiterTest, PolicyAndRemainingInOneAnswerUseTheNewQuota) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  limiter.observe_headers(R"("default";t=45;r=100)", R"("default";w=900;q=625)");
  const auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.capacity, 50);
  EXPECT_DOUBLE_EQ(snapshot.tokens, 0);
  EXPECT_EQ(snapshot.paused_until, SteadyTime{} + 45s);
}

TEST_F(RateLimiterTest, PolicyEqualToTheConfigChangesNothing) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  drain(limiter);
  clock.advance(2500ms);
  limiter.observe_headers("", R"("default";q=1250;w=900)");
  const auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.capacity, 100);
  EXPECT_DOUBLE_EQ(snapshot.refill_per_second, 1);
  EXPECT_DOUBLE_EQ(snapshot.tokens, 2.5);
}

TEST_F(RateLimiterTest, IgnoresHeadersItCannotRead) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  limiter.observe_headers("garbage;;", "also garbage;;");
  limiter.observe_headers(R"("default";r=abc;t=30)", R"("default";q=-5;w=300)");
  limiter.observe_headers(R"("default";r=300)", R"("default";q=0;w=300)");
  limiter.observe_headers("", R"("default";q=1250;w=0)");
  const auto snapshot = limiter.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.capacity, 100);
  EXPECT_DOUBLE_EQ(snapshot.refill_per_second, 1);
  EXPECT_EQ(snapshot.paused_until, std::nullopt);
  // q=0 was ignored; r=300 was read against q=1250: 300 - 250 left to
  // others, and one of slack.
  EXPECT_DOUBLE_EQ(snapshot.tokens, 51);
}

TEST_F(RateLimiterTest, RemainingWithoutAResetTimePausesAMinute) {
  RateLimiter limiter(clock, kOneTokenPerSecond);
  limiter.observe_headers(R"("default";r=0)", "");
  EXPECT_EQ(limiter.snapshot().paused_until, SteadyTime{} + 60s);
}

TEST_F(RateLimiterTest, ShutdownWakesTheCallSleepingOnARealClockAtOnce) {
  RealClock real;
  RateLimiter limiter(real, kOneTokenPerSecond);
  limiter.on_too_many_requests(std::nullopt);  // the next token is five minutes away
  std::string outcome;
  asio::co_spawn(ctx, limiter.acquire(Priority::move),
                 [&](std::exception_ptr e, bool) { outcome = describe(e); });
  asio::co_spawn(ctx, limiter.acquire(Priority::search),
                 [&](std::exception_ptr e, bool) { outcomes["queued"] = describe(e); });
  asio::steady_timer soon(ctx, 20ms);
  soon.async_wait([&](auto) { limiter.shutdown(); });
  const auto started = SteadyClock::now();
  ctx.run();
  EXPECT_LT(SteadyClock::now() - started, 10s);
  EXPECT_EQ(outcome, "aborted");
  EXPECT_EQ(outcomes["queued"], "aborted");
  EXPECT_EQ(limiter.snapshot().waiting, 0u);

  // And nothing is granted after it.
  ctx.restart();
  asio::co_spawn(ctx, limiter.acquire(Priority::move),
                 [&](std::exception_ptr e, bool) { outcome = describe(e); });
  ctx.run();
  EXPECT_EQ(outcome, "aborted");
}

TEST(Priority, HasReadableNames) {
  EXPECT_STREQ(to_string(Priority::move), "move");
  EXPECT_STREQ(to_string(Priority::release), "release");
  EXPECT_STREQ(to_string(Priority::reclassify), "reclassify");
  EXPECT_STREQ(to_string(Priority::search), "search");
}

}  // namespace
}  // namespace qtriage::api

// steps_in_flight: the cycle's way of keeping a second call under way while
// the answer to the first is read and recorded.

#include "qtriage/core/steps_in_flight.hpp"

#include "../../support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <vector>

namespace qtriage {
namespace {

namespace asio = boost::asio;

struct Trace {
  std::vector<std::size_t> started, finished;
  std::size_t under_way = 0, most_under_way = 0;
};

// A step that stays under way for `yields` turns of the event loop, as a
// call stays under way until its answer comes.
auto traced_step(Trace& trace, std::size_t yields) {
  return [&trace, yields](std::size_t index) -> asio::awaitable<void> {
    trace.started.push_back(index);
    trace.most_under_way = std::max(trace.most_under_way, ++trace.under_way);
    // Index 0 takes longest, so the steps after it overtake it.
    const auto executor = co_await asio::this_coro::executor;
    for (std::size_t turn = 0; turn < (index == 0 ? 3 * yields : yields); ++turn) {
      co_await asio::post(executor, asio::use_awaitable);
    }
    --trace.under_way;
    trace.finished.push_back(index);
  };
}

asio::awaitable<int> run(Trace& trace, std::size_t count, std::size_t in_flight,
                         std::size_t stop_after = SIZE_MAX) {
  auto steps = steps_in_flight(count, in_flight, traced_step(trace, 4),
                               [&] { return trace.started.size() < stop_after; });
  co_await std::move(steps);
  co_return 0;
}

TEST(StepsInFlight, TwoAreUnderWayAtATimeStartingInIndexOrder) {
  asio::io_context io;
  Trace trace;
  testing::run_coroutine(io, run(trace, 7, 2));
  EXPECT_EQ(trace.started, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(trace.most_under_way, 2u);
  EXPECT_EQ(trace.finished.size(), 7u);
  // The slow first step did not hold the others up: they finished around it.
  EXPECT_NE(trace.finished.front(), 0u);
}

TEST(StepsInFlight, OneInFlightRunsThemOneAfterTheOther) {
  asio::io_context io;
  Trace trace;
  testing::run_coroutine(io, run(trace, 5, 1));
  EXPECT_EQ(trace.most_under_way, 1u);
  EXPECT_EQ(trace.finished, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(StepsInFlight, NoStepStartsOnceKeepGoingSaysNo) {
  asio::io_context io;
  Trace trace;
  testing::run_coroutine(io, run(trace, 10, 2, /*stop_after=*/3));
  EXPECT_EQ(trace.started, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(trace.finished.size(), 3u);  // those under way finish
}

TEST(StepsInFlight, NoStepsAndOneStep) {
  asio::io_context io;
  Trace none, one;
  testing::run_coroutine(io, run(none, 0, 2));
  testing::run_coroutine(io, run(one, 1, 2));
  EXPECT_TRUE(none.started.empty());
  EXPECT_EQ(one.finished, (std::vector<std::size_t>{0}));
}

}  // namespace
}  // namespace qtriage

#pragma once
// Runs `step(0) ... step(count - 1)` with up to two of them under way at a
// time, on the caller's executor. Calls to one account would otherwise go
// out one after the other, and the time spent between them (reading an
// answer, the ledger's commit) would leave the rate-limit budget unused;
// with a second call in flight the API always has one to answer. Steps
// start in index order and may finish in any order; `keep_going` is asked
// before each one. With `in_flight` 1 they run one after the other.
//
//   co_await steps_in_flight(ids.size(), 2, [&](std::size_t i) -> asio::awaitable<void> {
//     auto answer = co_await client.reclassify(ids[i], disposition);
//     ...
//   }, [&] { return !stopping; });
//
// Steps must not throw: with the && operator an exception in one cancels the other.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <cstddef>

namespace qtriage {

template <class Step, class KeepGoing>
boost::asio::awaitable<void> steps_in_flight(std::size_t count, std::size_t in_flight, Step step,
                                             KeepGoing keep_going) {
  std::size_t next = 0;
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (next < count && keep_going()) {
      const std::size_t index = next++;
      auto done = step(index);
      co_await std::move(done);
    }
  };
  if (in_flight <= 1 || count <= 1) {
    auto only = worker();
    co_await std::move(only);
    co_return;
  }
  using boost::asio::experimental::awaitable_operators::operator&&;
  auto first = worker();
  auto second = worker();
  // Named first: GCC 12 mishandles temporaries inside a co_await expression.
  auto both = std::move(first) && std::move(second);
  co_await std::move(both);
}

}  // namespace qtriage

#include "qtriage/core/clock.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace qtriage {

asio::awaitable<void> RealClock::sleep_for(Duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

FakeClock::FakeClock(SystemTime wall_start) : wall_start_(wall_start) {}

SteadyTime FakeClock::now() const {
  std::lock_guard lock(mutex_);
  return SteadyTime{} + elapsed_;
}

SystemTime FakeClock::wall_now() const {
  std::lock_guard lock(mutex_);
  return wall_start_ + std::chrono::duration_cast<SystemTime::duration>(elapsed_);
}

asio::awaitable<void> FakeClock::sleep_for(Duration d) {
  {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(d);
    if (d > Duration::zero()) elapsed_ += d;
  }
  // Yield once so that other coroutines on the executor get their turn.
  const auto executor = co_await asio::this_coro::executor;
  co_await asio::post(executor, asio::use_awaitable);
}

void FakeClock::advance(Duration d) {
  std::lock_guard lock(mutex_);
  elapsed_ += d;
}

std::vector<Duration> FakeClock::sleeps() const {
  std::lock_guard lock(mutex_);
  return sleeps_;
}

void FakeClock::clear_sleeps() {
  std::lock_guard lock(mutex_);
  sleeps_.clear();
}

}  // namespace qtriage
